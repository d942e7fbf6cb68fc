"""`aggregate_health` on plain PostgreSQL: a continuous aggregate is a materialized view,
stale when its source holds rows the refresh schedule should already have aggregated,
wrong when its last complete bucket no longer matches the raw rows; the sensor requests
the view's refresh job, and running that job clears both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg

from platform_assets.health import AGGREGATE_HEALTH, Finding, observe
from platform_assets.live.session import Session
from tests.support.runs import materialize, run_refresh_job
from tests.support.sensors import evaluations, sensor_tick

SQL = """\
CREATE SCHEMA obs;
CREATE TABLE obs.readings (time timestamptz NOT NULL, sensor int NOT NULL, value float8);
SELECT create_hypertable('obs.readings', by_range('time', INTERVAL '1 hour'));
CREATE MATERIALIZED VIEW obs.readings_hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, sensor, count(*) AS n,
           sum(value) AS total
    FROM obs.readings GROUP BY 1, 2 WITH NO DATA;
SELECT add_continuous_aggregate_policy('obs.readings_hourly', start_offset => INTERVAL '1 day',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
"""
AGGREGATE = ("obs", "readings_hourly")
ASSET = "obs/readings_hourly"
REFRESH_JOB = "refresh_obs__readings_hourly"
ALLOWED = timedelta(hours=3)  # end_offset 1 hour + schedule_interval 1 hour + one bucket


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def aggregate_health(url: str, graph) -> Finding:
    with psycopg.connect(url, autocommit=True) as conn:
        found = observe(Session(conn), graph, {AGGREGATE_HEALTH}, datetime.now(UTC))
    return next(f for f in found if f.key == AGGREGATE)


def insert_hourly(url: str, first: datetime, last: datetime, value: float = 1.0) -> int:
    """Rows for sensors 1 and 2 every hour from `first` to `last`, at half past."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(
            "INSERT INTO obs.readings SELECT t + INTERVAL '30 minutes', s, %s "
            "FROM generate_series(%s::timestamptz, %s::timestamptz, INTERVAL '1 hour') t, "
            "generate_series(1, 2) s",
            (value, first, last),
        )
        return cursor.rowcount


def tick(graph, url: str) -> dg.SensorResult:
    return sensor_tick(graph, url, "aggregate_health_sensor")


def run_requested_refresh(graph, url: str, result: dg.SensorResult) -> None:
    """The run the sensor asked for, executed: the view's refresh job."""
    assert [(r.job_name, r.asset_selection) for r in result.run_requests] == [(REFRESH_JOB, None)]
    request = result.run_requests[0]
    assert request.tags["platform/fix"] == REFRESH_JOB
    assert request.run_key.startswith(f"aggregate_health_sensor:{REFRESH_JOB}:")
    run_refresh_job(graph, url, request.job_name)


def test_stale_view_is_reported_its_refresh_job_requested_and_the_run_clears_it(project, database):
    project.write("sql/obs.sql", SQL)
    graph = project.graph()
    result = materialize(graph, database.url)
    assert result.success
    materialized = {
        ("/".join(e.asset_key.path), e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert materialized[(ASSET, AGGREGATE_HEALTH)].passed
    for name in ("chunk_health_sensor", "aggregate_health_sensor"):
        healthy = sensor_tick(graph, database.url, name)
        assert [e for e in healthy.asset_events if not e.passed] == [], name
        assert healthy.asset_events and not healthy.run_requests, name

    # Rows the schedule should have aggregated long ago; the view has none of them.
    hour = this_hour()
    loaded = insert_hourly(database.url, hour - timedelta(hours=30), hour - timedelta(hours=20))
    never = aggregate_health(database.url, graph)
    assert not never.passed and never.description.startswith("never refreshed")
    assert never.metadata["pending_rows"] == loaded
    assert never.metadata["watermark"] == ""
    result = tick(graph, database.url)
    assert not evaluations(result)[(ASSET, AGGREGATE_HEALTH)].passed
    run_requested_refresh(graph, database.url, result)

    # Refreshed, then a quiet source: far behind now, but nothing is waiting.
    quiet = aggregate_health(database.url, graph)
    assert quiet.passed, quiet.description
    watermark = datetime.fromisoformat(quiet.metadata["watermark"])
    assert watermark == hour - timedelta(hours=19)
    assert quiet.metadata["pending_rows"] == 0
    assert quiet.metadata["allowed_lag"] == "3:00:00"
    assert datetime.now(UTC) - watermark > ALLOWED

    # Rows past the watermark and older than now - allowed lag: the view is stale.
    pending = insert_hourly(database.url, watermark, hour - timedelta(hours=5))
    stale = aggregate_health(database.url, graph)
    assert not stale.passed
    assert stale.metadata["pending_rows"] == pending
    assert "exceeds the refresh policy's 3:00:00" in stale.description
    assert timedelta(hours=19) <= _lag(stale) < timedelta(hours=20)
    assert stale.fix_job == REFRESH_JOB and stale.fix is None
    result = tick(graph, database.url)
    reported = evaluations(result)[(ASSET, AGGREGATE_HEALTH)]
    assert not reported.passed and reported.metadata["pending_rows"].value == pending
    assert "lag" in reported.metadata
    run_requested_refresh(graph, database.url, result)

    fixed = tick(graph, database.url)
    assert evaluations(fixed)[(ASSET, AGGREGATE_HEALTH)].passed
    assert not fixed.run_requests
    refreshed = aggregate_health(database.url, graph)
    assert datetime.fromisoformat(refreshed.metadata["watermark"]) == hour - timedelta(hours=4)

    # A late row in the last complete bucket: the stored bucket is now wrong.
    checked = datetime.fromisoformat(refreshed.metadata["spot_checked_bucket"])
    assert checked == hour - timedelta(hours=5)
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO obs.readings VALUES (%s, 1, 1000)", (checked + timedelta(minutes=10),)
        )
    late = aggregate_health(database.url, graph)
    assert not late.passed
    # One group changed: its stored row and its recomputed row differ.
    assert late.description == (
        f"bucket {checked:%Y-%m-%d %H:%M} differs from the raw table (2 row(s) differ)"
    )
    result = tick(graph, database.url)
    assert not evaluations(result)[(ASSET, AGGREGATE_HEALTH)].passed
    run_requested_refresh(graph, database.url, result)
    cleared = tick(graph, database.url)
    assert evaluations(cleared)[(ASSET, AGGREGATE_HEALTH)].passed
    assert not cleared.run_requests


def test_a_dropped_view_is_fixed_by_materializing_its_asset(project, database):
    project.write("sql/obs.sql", SQL)
    graph = project.graph()
    materialize(graph, database.url)
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("DROP MATERIALIZED VIEW obs.readings_hourly")
    result = tick(graph, database.url)
    missing = evaluations(result)[(ASSET, AGGREGATE_HEALTH)]
    assert missing.description == "no materialized view on the server"
    assert [(r.job_name, r.asset_selection) for r in result.run_requests] == [
        ("health_fix", [dg.AssetKey(list(AGGREGATE))])
    ]
    materialize(graph, database.url, selection=[ASSET])
    assert evaluations(tick(graph, database.url))[(ASSET, AGGREGATE_HEALTH)].passed


def _lag(finding: Finding) -> timedelta:
    hours, minutes, seconds = (int(part) for part in str(finding.metadata["lag"]).split(":"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)
