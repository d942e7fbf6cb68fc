"""Two named instances' definitions in one code location: every named definition carries the
instance's name, and each sensor, op and asset reads its own instance's database."""

from __future__ import annotations

import dagster as dg
from psycopg import sql

from platform_assets.dagster.component import build_platform_definitions
from platform_assets.dagster.naming import InstanceNames
from platform_assets.dagster.resources import SchemaDatabase, database_from_environment
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.health import CHUNK_HEALTH
from platform_assets.live.embedded import SCHEMA_DATABASE
from tests.support.databases import Server, empty_database

PARTITIONED = """\
CREATE SCHEMA logs;
-- platform: partition_interval="1 day" premake=3
CREATE TABLE logs.events (id bigint NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
"""


def partitions(database) -> list[str]:
    return database.partition_names("logs.events")


def instance_defs(graph, name: str, url: str) -> dg.Definitions:
    names = InstanceNames(name)
    translator = SchemaTranslator([name], f"{name}_", names)
    return build_platform_definitions(graph, SchemaDatabase(url=url), translator)


def test_each_instance_senses_and_fixes_only_its_own_database(project, database):
    project.write("sql/logs.sql", PARTITIONED)
    graph = project.graph()
    with empty_database(database.cluster, f"{database.name}_metrics") as metrics:
        orders = database
        defs = dg.Definitions.merge(
            instance_defs(graph, "orders", orders.url),
            instance_defs(graph, "metrics", metrics.url),
        )
        assert defs.resolve_implicit_global_asset_job_def().execute_in_process().success
        made = partitions(orders)
        assert partitions(metrics) == made
        verified = defs.resolve_job_def("orders_verify_schema").execute_in_process()
        assert {e.asset_key.path[0] for e in verified.get_asset_check_evaluations()} == {"orders"}

        metrics.rows(f"DROP TABLE logs.{made[-1]}")
        ticks = {}
        for name, db in (("orders", orders), ("metrics", metrics)):
            sensor = defs.resolve_sensor_def(f"{name}_chunk_health_sensor")
            resources = {f"{name}_database": SchemaDatabase(url=db.url)}
            ticks[name] = sensor(dg.build_sensor_context(resources=resources))
        reported = {
            (e.asset_key.to_user_string(), e.check_name): e.passed
            for tick in ticks.values()
            for e in tick.asset_events
        }
        assert reported == {
            ("orders/logs/events", CHUNK_HEALTH): True,
            ("metrics/logs/events", CHUNK_HEALTH): False,
        }
        assert ticks["orders"].run_requests == []
        [request] = ticks["metrics"].run_requests
        assert request.job_name == "metrics_health_fix"
        assert request.asset_selection == [dg.AssetKey(["metrics", "logs", "events"])]

        # The requested job exists in the location and runs on the metrics database only.
        orders.rows(f"DROP TABLE logs.{made[-2]}")
        fix = defs.resolve_job_def(request.job_name)
        assert fix.execute_in_process(asset_selection=request.asset_selection).success
        assert partitions(metrics) == made
        assert partitions(orders) == [p for p in made if p != made[-2]]

        upkeep = defs.resolve_job_def("orders_partition_maintenance").execute_in_process()
        assert upkeep.success
        assert partitions(orders) == made


def test_a_named_instance_without_its_variable_has_its_own_embedded_database(database, monkeypatch):
    # The session's cluster stands in for the project's embedded one.
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(database.cluster.directory))
    monkeypatch.delenv("ORDERS_DATABASE_URL", raising=False)
    admin = Server(database.cluster.url("postgres"))
    before = {row[0] for row in admin.rows("SELECT datname FROM pg_database")}
    try:
        orders = database_from_environment(
            "ORDERS_DATABASE_URL", InstanceNames("orders")(SCHEMA_DATABASE)
        )
        assert orders.is_embedded()
        with orders.session() as session:
            assert session.value("SELECT current_database()") == "orders_platform"
    finally:
        for name in {row[0] for row in admin.rows("SELECT datname FROM pg_database")} - before:
            admin.rows(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
