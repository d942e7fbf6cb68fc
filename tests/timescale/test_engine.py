"""The TimescaleDB engine against real TimescaleDB code (the WebAssembly test server).

The session shares one server (tests/timescale/conftest.py), which takes one connection
at a time: every test uses its own schema and closes its connections before a run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from platform_assets.dagster.backfill import build_aggregate_backfill
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.sensors import build_health_sensors
from platform_assets.model.declarations import Policy
from platform_assets.parse.compiler import compile_directory
from tests.support.cli import dagster_cli
from tests.support.databases import query
from tests.support.project import REPO
from tests.support.runs import materializations, materialize

pytestmark = pytest.mark.timescaledb

# SYSTEMS.md: hypertable -> (chunk interval, extra dimensions)
HYPERTABLES = {
    **{
        ("wildduck", f"metrics_{name}"): ("01:00:00", [])
        for name in ("system", "mongodb", "redis", "zonemta", "rspamd")
    },
    ("wildduck", "email_events"): ("1 day", []),
    ("wildduck", "blacklist_checks"): ("1 day", []),
    ("unity", "plugin_metrics"): ("7 days", []),
    ("unity", "alert_history"): ("7 days", []),
    ("analytics", "events"): ("1 day", [("tenant_id", 4)]),
    ("analytics", "metrics"): ("1 day", [("asset_id", 8)]),
    ("analytics", "correlations"): ("1 day", []),
}
AGGREGATES = {
    ("wildduck", "email_stats_5m"),
    ("wildduck", "email_stats_1h"),
    ("wildduck", "email_stats_daily"),
    ("analytics", "metrics_hourly"),
}
PROCS = {
    "compression_policy": ("policy_compression", ("compress_after",)),
    "retention_policy": ("policy_retention", ("drop_after",)),
    "refresh_policy": ("policy_refresh_continuous_aggregate", ("start_offset", "end_offset")),
}


def test_cli_materializes_the_five_systems_natively_and_a_rerun_changes_nothing(
    fresh_server, tmp_path
):
    server_url = fresh_server.url  # TimescaleDB available, created by the run
    env = {**os.environ, "PLATFORM_DATABASE_URL": server_url, "DAGSTER_HOME": str(tmp_path)}
    run = dagster_cli(
        "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*", env=env
    )
    assert run.returncode == 0, run.stderr[-4000:]

    dimensions = query(
        server_url,
        "SELECT hypertable_schema AS s, hypertable_name AS t, column_name, "
        "time_interval::text AS interval, num_partitions, dimension_number "
        "FROM timescaledb_information.dimensions ORDER BY dimension_number",
    )
    live: dict[tuple[str, str], tuple[str, list]] = {}
    for d in dimensions:
        key = (d["s"], d["t"])
        if d["dimension_number"] == 1:
            live[key] = (d["interval"], [])
        else:
            live[key][1].append((d["column_name"], d["num_partitions"]))
    assert {k: v for k, v in live.items() if k[0] != "_timescaledb_internal"} == HYPERTABLES

    aggregates = query(
        server_url,
        "SELECT view_schema, view_name FROM timescaledb_information.continuous_aggregates",
    )
    assert {(a["view_schema"], a["view_name"]) for a in aggregates} == AGGREGATES

    # Every declared policy is exactly one job, with the declared settings.
    graph = compile_directory(REPO / "sql", REPO)
    jobs = query(
        server_url,
        "SELECT job_id, proc_name, hypertable_schema AS s, hypertable_name AS t, config, "
        "schedule_interval FROM timescaledb_information.jobs WHERE job_id >= 1000",
    )
    declared = [obj for obj in graph if obj.kind.value in PROCS]
    assert len(jobs) == len(declared)
    for obj in declared:
        proc, keys = PROCS[obj.kind.value]
        policy = obj.declared(Policy)
        mine = [
            j for j in jobs if (j["proc_name"], j["s"], j["t"]) == (proc, obj.schema, obj.relation)
        ]
        assert len(mine) == 1, obj.key
        for key in keys:
            same = query(
                server_url,
                "SELECT %s::interval = %s::interval AS same",
                (mine[0]["config"][key], policy.job_config[key]),
            )[0]["same"]
            assert same, (obj.key, key, mine[0]["config"], policy)
        if policy.schedule_interval is not None:
            assert query(
                server_url,
                "SELECT %s::interval = %s::interval AS same",
                (mine[0]["schedule_interval"], policy.schedule_interval),
            )[0]["same"], obj.key

    rerun = materialize(graph, server_url)
    again = materializations(rerun)
    assert {values["action"] for values in again.values()} == {"unchanged"}
    # Healthy after the main job: every check (drift and health) passes.
    failing = [
        ("/".join(e.asset_key.path), e.check_name, e.description)
        for e in rerun.get_asset_check_evaluations()
        if not e.passed
    ]
    assert not failing
    assert again["analytics/events/hypertable"]["dimensions"] == [
        "timestamp by_range 1 day",
        "tenant_id by_hash 4",
    ]
    assert again["wildduck/email_events/compression_policy"]["job_id"] >= 1000
    # Both sensors report every chunk, job and aggregate healthy, and request nothing.
    for sensor in build_health_sensors(graph):
        context = dg.build_sensor_context(resources={"database": SchemaDatabase(url=server_url)})
        result = sensor(context)
        assert result.asset_events, sensor.name
        failed = [(e.asset_key.path, e.description) for e in result.asset_events if not e.passed]
        assert failed == [], sensor.name
        assert not result.run_requests, sensor.name
    assert len([e for e in result.asset_events if e.check_name == "aggregate_health"]) == 4


POLICY_SQL = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA {schema};
CREATE TABLE {schema}.readings (ts timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('{schema}.readings', by_range('ts', INTERVAL '1 day'));
ALTER TABLE {schema}.readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');
SELECT add_compression_policy('{schema}.readings', compress_after => INTERVAL '{after}');
"""


def compression_jobs(url: str, schema: str) -> list[dict]:
    return query(
        url,
        "SELECT job_id, config FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_compression' AND hypertable_schema = %s",
        (schema,),
    )


def test_changed_policy_keeps_its_job_and_a_deleted_job_is_recreated(project, server_url):
    project.write("sql/p.sql", POLICY_SQL.format(schema="pol", after="7 days"))
    materialize(project.graph(), server_url)
    [job] = compression_jobs(server_url, "pol")

    project.write("sql/p.sql", POLICY_SQL.format(schema="pol", after="14 days"))
    result = materializations(materialize(project.graph(), server_url))
    policy = result["pol/readings/compression_policy"]
    assert policy["action"] == "updated"
    assert policy["previous_config"]["compress_after"] == "7 days"
    [changed] = compression_jobs(server_url, "pol")
    assert changed["job_id"] == job["job_id"]
    assert changed["config"]["compress_after"] == "14 days"

    query(server_url, "SELECT delete_job(%s)", (job["job_id"],))
    result = materializations(materialize(project.graph(), server_url))
    assert result["pol/readings/compression_policy"]["action"] == "created"
    [recreated] = compression_jobs(server_url, "pol")
    assert recreated["config"]["compress_after"] == "14 days"


def test_converting_a_table_with_rows_keeps_them(project, server_url):
    table_only = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA conv;
CREATE TABLE conv.samples (ts timestamptz NOT NULL, value int);
"""
    project.write("sql/c.sql", table_only)
    materialize(project.graph(), server_url)
    query(
        server_url,
        "INSERT INTO conv.samples SELECT now() - n * INTERVAL '1 day', n "
        "FROM generate_series(1, 50) n",
    )
    project.write(
        "sql/c.sql",
        table_only
        + "SELECT create_hypertable('conv.samples', by_range('ts', INTERVAL '7 days'));\n",
    )
    result = materializations(materialize(project.graph(), server_url))
    hypertable = result["conv/samples/hypertable"]
    assert hypertable["action"] == "created"
    assert hypertable["migrated_rows"] == 50
    assert hypertable["chunks"] >= 7
    assert query(server_url, "SELECT count(*) AS n FROM conv.samples")[0]["n"] == 50


def test_compression_job_compresses_old_chunks(project, server_url):
    project.write("sql/p.sql", POLICY_SQL.format(schema="comp", after="7 days"))
    materialize(project.graph(), server_url)
    query(
        server_url,
        "INSERT INTO comp.readings SELECT t, d, d FROM generate_series(now() - INTERVAL '20 days', "
        "now(), INTERVAL '1 hour') t, generate_series(1, 3) d",
    )
    [job] = compression_jobs(server_url, "comp")
    query(server_url, "CALL run_job(%s)", (job["job_id"],))
    chunks = query(
        server_url,
        "SELECT range_end, is_compressed FROM timescaledb_information.chunks "
        "WHERE hypertable_schema = 'comp'",
    )
    old = [
        c
        for c in chunks
        if c["range_end"] < max(c["range_end"] for c in chunks) - timedelta(days=8)
    ]
    assert old and all(c["is_compressed"] for c in old)
    assert not all(c["is_compressed"] for c in chunks)


def test_aggregate_refresh_returns_the_raw_numbers(project, server_url):
    project.write(
        "sql/a.sql",
        """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA agg;
CREATE TABLE agg.readings (ts timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('agg.readings', by_range('ts', INTERVAL '1 day'));
CREATE MATERIALIZED VIEW agg.hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n, sum(value) AS total
    FROM agg.readings GROUP BY 1, 2;
SELECT add_continuous_aggregate_policy('agg.hourly', start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
""",
    )
    created = materializations(materialize(project.graph(), server_url))
    assert created["agg/hourly"]["action"] == "created"
    query(
        server_url,
        "INSERT INTO agg.readings SELECT t, d, d * 2 FROM generate_series("
        "now() - INTERVAL '2 days', now() - INTERVAL '2 hours', INTERVAL '10 minutes') t, "
        "generate_series(1, 2) d",
    )
    query(
        server_url,
        "CALL refresh_continuous_aggregate('agg.hourly', now() - INTERVAL '3 days', "
        "date_trunc('hour', now() - INTERVAL '1 hour'))",
    )
    raw = query(
        server_url,
        "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n, "
        "sum(value) AS total FROM agg.readings "
        "WHERE ts < date_trunc('hour', now() - INTERVAL '1 hour') GROUP BY 1, 2 ORDER BY 1, 2",
    )
    stored = query(
        server_url,
        "SELECT * FROM agg.hourly WHERE bucket < date_trunc('hour', now() - INTERVAL '1 hour') "
        "ORDER BY 1, 2",
    )
    assert len(raw) > 40 and stored == raw


COLUMNSTORE_SQL = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA cs;
CREATE TABLE cs.r (ts timestamptz NOT NULL, device int NOT NULL, v float8);
SELECT create_hypertable('cs.r', 'ts', chunk_time_interval => INTERVAL '2 days');
ALTER TABLE cs.r SET (timescaledb.enable_columnstore, timescaledb.segmentby = 'device',
    timescaledb.orderby = 'ts DESC');
CALL add_columnstore_policy('cs.r', after => INTERVAL '10 days');
CREATE INDEX r_dev ON cs.r (device, ts DESC);
SELECT add_reorder_policy('cs.r', 'r_dev');
CREATE MATERIALIZED VIEW cs.h WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n
    FROM cs.r GROUP BY 1, 2 WITH NO DATA;
CREATE MATERIALIZED VIEW cs.d WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 day', bucket) AS day, device, sum(n) AS n
    FROM cs.h GROUP BY 1, 2 WITH NO DATA;
SELECT add_retention_policy('cs.d', drop_after => INTERVAL '400 days');
"""


def test_legacy_form_columnstore_reorder_and_an_aggregate_on_an_aggregate(project, server_url):
    project.write("sql/cs.sql", COLUMNSTORE_SQL)
    first = materializations(materialize(project.graph(), server_url))
    assert first["cs/r/hypertable"]["chunk_interval"] == "2 days"
    assert first["cs/r/compression_settings"]["compression_settings"] == {
        "segmentby": "device",
        "orderby": "ts DESC",
    }
    jobs = {
        (j["proc_name"], j["t"]): j["config"]
        for j in query(
            server_url,
            "SELECT proc_name, hypertable_name AS t, config FROM timescaledb_information.jobs "
            "WHERE hypertable_schema = 'cs'",
        )
    }
    assert jobs[("policy_compression", "r")]["compress_after"] == "10 days"
    assert jobs[("policy_reorder", "r")]["index_name"] == "r_dev"
    assert jobs[("policy_retention", "d")]["drop_after"] == "400 days"
    aggregates = query(
        server_url,
        "SELECT view_name FROM timescaledb_information.continuous_aggregates "
        "WHERE view_schema = 'cs' ORDER BY 1",
    )
    assert [a["view_name"] for a in aggregates] == ["d", "h"]

    again = materializations(materialize(project.graph(), server_url))
    assert {v["action"] for v in again.values()} == {"unchanged"}


def test_aggregate_backfill_refreshes_one_day_per_partition(project, server_url):
    project.write(
        "sql/bf.sql",
        """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA bf;
CREATE TABLE bf.readings (ts timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('bf.readings', by_range('ts', INTERVAL '1 day'));
CREATE MATERIALIZED VIEW bf.hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n, sum(value) AS total
    FROM bf.readings GROUP BY 1, 2 WITH NO DATA;
""",
    )
    graph = project.graph()
    materialize(graph, server_url)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    query(
        server_url,
        "INSERT INTO bf.readings SELECT t, 1, 2 FROM generate_series(%s::timestamptz, "
        "%s::timestamptz, INTERVAL '20 minutes') t",
        (today - timedelta(days=3), today - timedelta(minutes=1)),
    )
    [job], [schedule] = build_aggregate_backfill(graph)
    day = today - timedelta(days=2)
    result = job.execute_in_process(
        partition_key=f"{day:%Y-%m-%d}", resources={"database": SchemaDatabase(url=server_url)}
    )
    assert result.success
    stored = query(server_url, "SELECT bucket, device, n, total FROM bf.hourly ORDER BY 1")
    assert len(stored) == 24 and {row["bucket"].date() for row in stored} == {day.date()}
    assert {(row["n"], row["total"]) for row in stored} == {(3, 6.0)}

    tick = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=today))
    assert [r.partition_key for r in tick.run_requests] == [f"{today - timedelta(days=1):%Y-%m-%d}"]


def test_seed_loads_by_batched_inserts_and_locates_a_bad_row(project, server_url):
    """The test server has no COPY FROM STDIN: seeds stage through multi-row INSERTs,
    into a hypertable too, and a bad row is still reported by line and column."""
    project.write(
        "sql/s.sql",
        "CREATE EXTENSION IF NOT EXISTS timescaledb;\nCREATE SCHEMA seeded;\n"
        "CREATE TABLE seeded.levels (name text PRIMARY KEY, rank int NOT NULL);\n"
        "CREATE TABLE seeded.readings (ts timestamptz NOT NULL, level text NOT NULL "
        "REFERENCES seeded.levels (name), value float8, PRIMARY KEY (level, ts));\n"
        "SELECT create_hypertable('seeded.readings', by_range('ts', INTERVAL '1 day'));\n",
    )
    project.write("seeds/seeded/levels.csv", "name,rank\nlow,1\nhigh,2\n")
    readings = "ts,level,value\n" + "".join(
        f"2026-01-{day:02d}T00:00:00Z,low,{day}.5\n" for day in range(1, 11)
    )
    project.write("seeds/seeded/readings.csv", readings)
    first = materializations(materialize(project.graph(), server_url))
    assert first["seeded/seed/readings"]["load_method"] == "insert"
    assert first["seeded/seed/readings"]["inserted"] == 10
    assert query(server_url, "SELECT count(*) AS n FROM seeded.readings")[0]["n"] == 10

    project.write("seeds/seeded/readings.csv", readings + "2026-01-11T00:00:00Z,medium,1\n")
    result = materialize(project.graph(), server_url, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "seeds/seeded/readings.csv:12: seed seeded.readings: column level:" in (
        failure.step_failure_data.error.message
    )
    assert query(server_url, "SELECT count(*) AS n FROM seeded.readings")[0]["n"] == 10


def test_column_added_to_a_hypertable_with_chunks(project, server_url):
    declared = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA evo;
CREATE TABLE evo.readings (ts timestamptz NOT NULL, sensor int NOT NULL{extra});
SELECT create_hypertable('evo.readings', by_range('ts', INTERVAL '1 day'));
"""
    project.write("sql/e.sql", declared.format(extra=""))
    materialize(project.graph(), server_url)
    query(
        server_url,
        "INSERT INTO evo.readings SELECT now() - n * INTERVAL '1 day', n "
        "FROM generate_series(1, 5) n",
    )
    project.write("sql/e.sql", declared.format(extra=", unit varchar(8) DEFAULT 'C'"))
    result = materialize(project.graph(), server_url)
    done = materializations(result)
    assert done["evo/readings"]["action"] == "updated"
    assert done["evo/readings"]["sql_executed"] == (
        '```sql\nALTER TABLE "evo"."readings" ADD COLUMN unit VARCHAR(8) DEFAULT \'C\';\n```'
    )
    # The hypertable's default time index is TimescaleDB's, not an orphan.
    assert done["evo/schema"]["orphans"] == []
    checks = {
        "/".join(e.asset_key.path): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "in_sync"
    }
    assert checks["evo/readings"].passed, checks["evo/readings"].description
    rows = query(server_url, "SELECT count(*) AS n, min(unit) AS unit FROM evo.readings")[0]
    assert rows == {"n": 5, "unit": "C"}
    chunks = query(
        server_url,
        "SELECT count(*) AS n FROM timescaledb_information.chunks WHERE hypertable_schema = 'evo'",
    )
    assert chunks[0]["n"] >= 5
