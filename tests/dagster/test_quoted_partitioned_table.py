"""Every asset key comes from the one translator: a partitioned table, a hypertable, a seed
and an aggregate whose names need quoting (non-ASCII, mixed case) load, materialize, and
are named by the same valid key in their maintenance op, refresh job and health checks."""

from __future__ import annotations

import dagster as dg

from platform_assets.dagster.component import build_platform_definitions
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.execute.rollups import refresh_job_name
from platform_assets.health import CHUNK_HEALTH
from platform_assets.model.naming import asset_key_part
from tests.support.databases import TestDatabase
from tests.support.project import Project

QUOTED = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA "Zähler";
-- platform: partition_interval="1 day" premake=2 retention="7 days"
CREATE TABLE "Zähler"."Stände" (
    id bigint NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE "Zähler"."Mëssungen" (ts timestamptz NOT NULL, value float8);
SELECT create_hypertable('"Zähler"."Mëssungen"', by_range('ts', INTERVAL '1 day'));
CREATE TABLE "Zähler"."Größen" (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO "Zähler"."Größen" VALUES (1, 'klein'), (2, 'groß');
CREATE MATERIALIZED VIEW "Zähler"."Stündlich" WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, avg(value) AS mean
FROM "Zähler"."Mëssungen" GROUP BY 1 WITH NO DATA;
"""


def observed_keys(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {
        event.event_specific_data.asset_observation.asset_key
        for event in result.all_events
        if event.event_type_value == "ASSET_OBSERVATION"
    }


def test_quoted_partitioned_tables_are_named_by_the_translator_everywhere(
    project: Project, database: TestDatabase
):
    project.write("sql/quoted.sql", QUOTED)
    graph = project.graph()
    # A prefix only this instance adds: every key below shows it came from this translator.
    translator = SchemaTranslator(key_prefix=["warehouse"])
    defs = build_platform_definitions(graph, SchemaDatabase(url=database.url), translator)
    dg.Definitions.validate_loadable(defs)  # valid names everywhere, or it raises

    table = graph[("Zähler", "Stände")]
    hypertable = graph[("Zähler", "Mëssungen", "hypertable")]
    aggregate = graph[("Zähler", "Stündlich")]
    seed = graph.seeds[("Zähler", "seed", "Größen")]
    keys = {spec.key for spec in defs.resolve_all_asset_specs()}
    assert translator.get_seed_asset_key(seed) in keys
    assert translator.get_seed_asset_key(seed) == dg.AssetKey(
        ["warehouse", asset_key_part("Zähler"), "seed", asset_key_part("Größen")]
    )
    assert all(key.path[0] == "warehouse" for key in keys)
    groups = {spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups == {"platform", translator.get_group_name(table)}

    run = defs.resolve_implicit_global_asset_job_def().execute_in_process()
    assert run.success
    assert database.value('SELECT count(*) FROM "Zähler"."Größen"') == 2

    maintenance = defs.resolve_job_def("partition_maintenance").execute_in_process()
    assert maintenance.success
    op_names = {node.name for node in defs.resolve_job_def("partition_maintenance").nodes}
    schema = asset_key_part("Zähler")
    assert op_names == {
        f"maintain_{schema}__{asset_key_part('Stände')}",
        f"maintain_{schema}__{asset_key_part('Mëssungen')}",
    }
    assert observed_keys(maintenance) == {
        translator.get_asset_key(table),
        translator.get_asset_key(hypertable),
    }

    refresh = defs.resolve_job_def(refresh_job_name(aggregate)).execute_in_process()
    assert refresh.success
    assert observed_keys(refresh) == {translator.get_asset_key(aggregate)}

    sensor = defs.resolve_sensor_def("chunk_health_sensor")
    tick = sensor(dg.build_sensor_context(resources={"database": SchemaDatabase(url=database.url)}))
    reported = {(e.asset_key, e.check_name): e.passed for e in tick.asset_events}
    assert reported == {
        (translator.get_asset_key(table), CHUNK_HEALTH): True,
        (translator.get_asset_key(hypertable), CHUNK_HEALTH): True,
    }
