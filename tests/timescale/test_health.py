"""Health on real TimescaleDB code: uncompressed old chunks, a dropped job, an aggregate never
refreshed and one whose stored bucket no longer matches the raw rows, each seen by the
health checks and the sensors, and cleared by the fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from platform_assets.health import AGGREGATE_HEALTH, CHUNK_HEALTH, JOB_HEALTH, observe
from platform_assets.live.session import Session
from tests.support.runs import materialize, run_refresh_job
from tests.support.sensors import evaluations, sensor_tick

pytestmark = pytest.mark.timescaledb

SQL = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA m;
CREATE TABLE m.readings (ts timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('m.readings', by_range('ts', INTERVAL '1 day'));
ALTER TABLE m.readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');
SELECT add_compression_policy('m.readings', compress_after => INTERVAL '7 days');
CREATE MATERIALIZED VIEW m.readings_hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n, sum(value) AS total
    FROM m.readings GROUP BY 1, 2 WITH NO DATA;
SELECT add_continuous_aggregate_policy('m.readings_hourly', start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
"""
CHECKS = {CHUNK_HEALTH, JOB_HEALTH, AGGREGATE_HEALTH}
HYPERTABLE = ("m", "readings", "hypertable")
COMPRESSION = ("m", "readings", "compression_policy")
AGGREGATE = ("m", "readings_hourly")
REFRESH_JOB = "refresh_m__readings_hourly"


def findings(conn: psycopg.Connection, graph) -> dict:
    found = observe(Session(conn), graph, CHECKS, datetime.now(UTC))
    return {(f.key, f.check): f for f in found}


def job_id(conn: psycopg.Connection, proc: str) -> int:
    return conn.execute(
        "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = %s", (proc,)
    ).fetchone()[0]


def test_unhealthy_conditions_are_reported_and_cleared_by_the_fix(project, server_url):
    project.write("sql/m.sql", SQL)
    graph = project.graph()
    with psycopg.connect(server_url, autocommit=True) as conn:
        for obj in graph:
            for statement in obj.statements:
                conn.execute(statement.text)
        # Hourly rows of two devices over the last 30 days: 30 one-day chunks.
        conn.execute(
            "INSERT INTO m.readings SELECT t, d, d * 10 + extract(hour FROM t) "
            "FROM generate_series(now() - INTERVAL '30 days', now(), INTERVAL '1 hour') t, "
            "generate_series(1, 2) d"
        )
        found = findings(conn, graph)
        chunks = found[(HYPERTABLE, CHUNK_HEALTH)]
        assert not chunks.passed
        assert "older than compress_after are not compressed" in chunks.description
        assert chunks.metadata["chunks"] >= 30
        assert found[(COMPRESSION, JOB_HEALTH)].passed
        assert found[(AGGREGATE, AGGREGATE_HEALTH)].description.startswith("never refreshed")

        conn.execute("CALL run_job(%s)", (job_id(conn, "policy_compression"),))
        assert found[(AGGREGATE, AGGREGATE_HEALTH)].fix_job == REFRESH_JOB

    # The fix run: the aggregate's refresh job runs its refresh policy's job now. It
    # opens its own connection (the server takes one at a time).
    run_refresh_job(graph, server_url, REFRESH_JOB)
    with psycopg.connect(server_url, autocommit=True) as conn:
        found = findings(conn, graph)
        assert found[(HYPERTABLE, CHUNK_HEALTH)].passed, found[(HYPERTABLE, CHUNK_HEALTH)]
        aggregate = found[(AGGREGATE, AGGREGATE_HEALTH)]
        assert aggregate.passed, aggregate.description
        assert aggregate.metadata["pending_rows"] == 0
        checked = datetime.fromisoformat(aggregate.metadata["spot_checked_bucket"])

        # A late row in the last complete bucket: the stored aggregate is now wrong.
        conn.execute(
            "INSERT INTO m.readings VALUES (%s, 1, 1000)", (checked + timedelta(minutes=30),)
        )
        aggregate = findings(conn, graph)[(AGGREGATE, AGGREGATE_HEALTH)]
        assert not aggregate.passed
        # One group changed: its stored row and its recomputed row differ.
        assert "differs from the raw table (2 row(s) differ)" in aggregate.description
        assert aggregate.fix_job == REFRESH_JOB

    stale = sensor_tick(graph, server_url, "aggregate_health_sensor")
    assert not evaluations(stale)[("m/readings_hourly", AGGREGATE_HEALTH)].passed
    assert [r.job_name for r in stale.run_requests] == [REFRESH_JOB]
    run_refresh_job(graph, server_url, REFRESH_JOB)
    with psycopg.connect(server_url, autocommit=True) as conn:
        assert findings(conn, graph)[(AGGREGATE, AGGREGATE_HEALTH)].passed

        refresh_job = job_id(conn, "policy_refresh_continuous_aggregate")
        conn.execute("SELECT job_id FROM alter_job(%s, scheduled => false)", (refresh_job,))
        paused = findings(conn, graph)[(("m", "readings_hourly", "refresh_policy"), JOB_HEALTH)]
        assert paused.description == f"job {refresh_job} is paused"
        conn.execute("SELECT job_id FROM alter_job(%s, scheduled => true)", (refresh_job,))

        conn.execute("SELECT delete_job(%s)", (job_id(conn, "policy_compression"),))

    # The sensor opens its own connection (the server takes one at a time).
    result = sensor_tick(graph, server_url)
    reported = evaluations(result)
    missing = reported[("m/readings/compression_policy", JOB_HEALTH)]
    assert not missing.passed and missing.description == "no job on the server"
    assert reported[("m/readings/hypertable", CHUNK_HEALTH)].passed
    requested = [(r.job_name, r.asset_selection) for r in result.run_requests]
    assert ("health_fix", [dg.AssetKey(list(COMPRESSION))]) in requested

    aggregates = evaluations(sensor_tick(graph, server_url, "aggregate_health_sensor"))
    assert aggregates[("m/readings_hourly", AGGREGATE_HEALTH)].passed

    # The run the sensor requested recreates the job; the next tick is healthy.
    materialize(graph, server_url, selection=["m/readings/compression_policy"])
    fixed = sensor_tick(graph, server_url)
    assert evaluations(fixed)[("m/readings/compression_policy", JOB_HEALTH)].passed
    assert not fixed.run_requests
