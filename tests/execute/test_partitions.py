"""Plain PostgreSQL: hypertables as native range partitions, declared partitions kept ahead,
retention by dropping whole partitions, continuous aggregates as materialized views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from platform_assets.dagster.maintenance import (
    PartitionClock,
    build_partition_maintenance,
    build_refresh_schedules,
)
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.sensors import build_health_sensors
from platform_assets.execute.partition_rules import partition_settings
from platform_assets.execute.partitions import range_bounds
from platform_assets.model.objects import ObjectKind
from platform_assets.parse.compiler import compile_directory
from tests.support.project import REPO
from tests.support.runs import materializations, materialize

MONTH = "1 month"


def partitions_of(conn: psycopg.Connection, table: str) -> dict[str, tuple[datetime, datetime]]:
    rows = conn.execute(
        "SELECT c.relname, pg_get_partition_constraintdef(c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (table,),
    ).fetchall()
    return {name: range_bounds(bound) for name, bound in rows}


def covered(bounds: dict[str, tuple[datetime, datetime]], instant: datetime) -> str | None:
    return next((n for n, (lo, hi) in bounds.items() if lo <= instant < hi), None)


def run_maintenance(graph, url: str, now: datetime | None = None) -> dict[str, dict]:
    """A real Dagster run of partition_maintenance; op name -> its output metadata."""
    job, _ = build_partition_maintenance(graph)
    result = job.execute_in_process(
        resources={
            "database": SchemaDatabase(url=url),
            "partition_clock": PartitionClock(now=now.isoformat() if now else None),
        }
    )
    assert result.success
    found = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_OUTPUT":
            data = event.event_specific_data.metadata
            found[event.step_key] = {k: getattr(v, "value", v) for k, v in data.items()}
    return found


@pytest.fixture(scope="module")
def systems(pg_cluster):
    """All five systems materialized on plain PostgreSQL (one database for the module)."""
    name = "partitions_five_systems"
    pg_cluster.create_database(name)
    url = pg_cluster.url(name)
    graph = compile_directory(REPO / "sql", REPO)
    started = datetime.now(UTC)
    result = materialize(graph, url)
    assert result.success
    return graph, url, materializations(result), result, started


def test_both_health_sensors_report_all_healthy_after_the_main_job(systems):
    # Before the other tests here add rows: right after the main job.
    graph, url, _, _, _ = systems
    for sensor in build_health_sensors(graph):
        result = sensor(dg.build_sensor_context(resources={"database": SchemaDatabase(url=url)}))
        assert result.asset_events, sensor.name
        failed = [(e.asset_key.path, e.description) for e in result.asset_events if not e.passed]
        assert failed == [], sensor.name
        assert not result.run_requests, sensor.name
    aggregates = [
        e
        for e in result.asset_events  # aggregate_health_sensor: every view judged natively
        if e.check_name == "aggregate_health"
    ]
    assert len(aggregates) == 4
    assert all("watermark" in e.metadata for e in aggregates)


def test_every_hypertable_is_partitioned_through_the_premake_horizon(systems):
    graph, url, done, _, now = systems
    hypertables = [obj for obj in graph if obj.kind == ObjectKind.HYPERTABLE]
    assert len(hypertables) == 12  # SYSTEMS.md: 7 in wildduck, 2 in unity, 3 in analytics
    with psycopg.connect(url) as conn:
        for hypertable in hypertables:
            table = f"{hypertable.schema}.{hypertable.relation}"
            assert conn.execute(
                "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = %s::regclass",
                (table,),
            ).fetchone() == ("r",), table
            meta = done["/".join(hypertable.key)]
            table_obj = graph.relation(hypertable.schema, hypertable.relation)
            width = {"1 day": 1, "7 days": 7}[
                partition_settings(table_obj, graph)["partition_interval"]
            ]
            bounds = partitions_of(conn, table)
            assert covered(bounds, now), table
            horizon = now + timedelta(days=4 * width)  # premake 4
            assert covered(bounds, horizon), (table, horizon)
            assert covered(bounds, now - timedelta(days=1)), table  # late rows are taken
            assert meta["partitions_created"], table
            # The parent's indexes are on every partition.
            parent_indexes = conn.execute(
                "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", (table,)
            ).fetchone()[0]
            for partition in bounds:
                assert (
                    conn.execute(
                        "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass",
                        (f"{hypertable.schema}.{partition}",),
                    ).fetchone()[0]
                    == parent_indexes
                ), partition


def test_width_rule_and_hash_dimensions_are_reported(systems):
    _, _, done, _, _ = systems
    # 1 hour chunks kept 90 days: daily partitions, not 2,160 hourly ones.
    assert (
        "partitions 1 day wide" in done["wildduck/metrics_system/hypertable"]["engine_equivalent"]
    )
    # 1 day chunks kept 365 days would be 370 daily partitions: widened to weekly.
    events = done["analytics/events/hypertable"]["engine_equivalent"]
    assert "partitions 7 days wide" in events
    assert "hash dimension tenant_id (4 partitions) has no native equivalent" in events
    compression = done["analytics/events/compression_policy"]
    assert compression["action"] == "not applicable on this engine"
    assert "columnstore" in compression["reason"]
    assert "engine_equivalent" in compression


def test_message_logs_has_thirteen_future_monthly_partitions(systems):
    _, url, done, _, now = systems
    with psycopg.connect(url) as conn:
        bounds = partitions_of(conn, "scheduler.message_logs")
    future = sorted(lo for lo, _ in bounds.values() if lo > now)
    assert len(future) >= 13
    for lo, hi in bounds.values():
        assert lo.day == 1 and lo.hour == 0 and (hi.month - lo.month) % 12 == 1
    assert covered(bounds, now)
    assert done["scheduler/message_logs"]["partitions_created"]


def test_rows_land_in_the_partition_of_their_time(systems):
    _, url, _, _, now = systems
    at = now.replace(minute=7, second=0, microsecond=0) + timedelta(days=2)
    day = at.replace(hour=0, minute=0)
    monday = day - timedelta(days=day.weekday())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wildduck.nodes (id, hostname, ip_address, role) "
            "VALUES ('n-route', 'route.example', '10.0.0.9', 'wildduck')"
        )
        conn.execute(
            "INSERT INTO wildduck.metrics_system (time, node_id, node_role) "
            "VALUES (%s, 'n-route', 'wildduck')",
            (at,),
        )
        conn.execute(
            "INSERT INTO wildduck.email_events (time, event_type) VALUES (%s, 'queued')", (at,)
        )
        conn.execute(
            "INSERT INTO scheduler.users (first_name, last_name, email, timezone) "
            "VALUES ('A', 'B', 'route@example.com', 'UTC')"
        )
        conn.execute(
            "INSERT INTO scheduler.message_logs (user_id, message_type, message_content, "
            "scheduled_send_time, idempotency_key) SELECT id, 'BIRTHDAY', 'hi', %s, "
            "'BIRTHDAY:' || id || ':' || to_char(%s::timestamptz, 'YYYY-MM-DD') "
            "FROM scheduler.users WHERE email = 'route@example.com'",
            (at, at),
        )
        # The row just inserted (the seeds hold message logs of their own).
        landed = {
            table: conn.execute(
                f"SELECT tableoid::regclass::text FROM {table} WHERE {column} = %s", (at,)
            ).fetchone()[0]
            for table, column in (
                ("wildduck.metrics_system", "time"),
                ("wildduck.email_events", "time"),
                ("scheduler.message_logs", "scheduled_send_time"),
            )
        }
    assert landed == {
        "wildduck.metrics_system": f"wildduck.metrics_system_p{day:%Y%m%d}",
        "wildduck.email_events": f"wildduck.email_events_p{monday:%Y%m%d}",
        "scheduler.message_logs": f"scheduler.message_logs_p{at:%Y%m01}",
    }


def test_aggregates_are_materialized_views_refreshed_concurrently_by_their_schedule(systems):
    graph, url, done, _, now = systems
    aggregates = [obj for obj in graph if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE]
    assert {a.name for a in aggregates} == {
        "email_stats_5m",
        "email_stats_1h",
        "email_stats_daily",
        "metrics_hourly",
    }
    start = now.replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wildduck.email_events (time, event_type, from_domain, mta_node, "
            "message_size) SELECT %s + n * interval '1 minute', "
            "(ARRAY['delivered','bounced','deferred'])[1 + mod(n, 3)], "
            "CASE WHEN mod(n, 4) = 0 THEN NULL ELSE 'd' || mod(n, 5) || '.example' END, 'mx1', n "
            "FROM generate_series(0, 300) n",
            (start,),
        )
    jobs, schedules = build_refresh_schedules(graph)
    assert {s.name: s.cron_schedule for s in schedules} == {
        "refresh_wildduck__email_stats_5m_schedule": "*/5 * * * *",
        "refresh_wildduck__email_stats_1h_schedule": "*/30 * * * *",
        "refresh_wildduck__email_stats_daily_schedule": "0 * * * *",
        "refresh_analytics__metrics_hourly_schedule": "0 * * * *",
    }
    for job in jobs:
        result = job.execute_in_process(resources={"database": SchemaDatabase(url=url)})
        assert result.success
    with psycopg.connect(url, autocommit=True) as conn:
        for aggregate in aggregates:
            view = aggregate.qualified_name
            kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", (view,))
            assert kind.fetchone() == ("m",)
            assert "refreshed CONCURRENTLY" in done["/".join(aggregate.key)]["engine_equivalent"]
            definition = conn.execute("SELECT pg_get_viewdef(%s::regclass)", (view,)).fetchone()[0]
            query = definition.rstrip().rstrip(";")
            differing = conn.execute(
                f"SELECT count(*) FROM ((TABLE {view} EXCEPT ALL ({query})) "
                f"UNION ALL (({query}) EXCEPT ALL TABLE {view})) d"
            ).fetchone()[0]
            assert differing == 0, view
        # time_bucket's semantics, computed independently: 5 minute buckets from the epoch.
        assert (
            conn.execute(
                "SELECT count(*), sum(event_count) FROM wildduck.email_stats_5m "
                "WHERE mta_node = 'mx1'"
            ).fetchone()
            == conn.execute(
                "SELECT count(*), sum(n) FROM (SELECT count(*) AS n FROM wildduck.email_events "
                "WHERE mta_node = 'mx1' "
                "GROUP BY to_timestamp(floor(extract(epoch FROM time) / 300) * 300), "
                "from_domain, mta_node, sending_ip, event_type) g"
            ).fetchone()
        )
        assert (
            conn.execute(
                "SELECT sum(event_count) FROM wildduck.email_stats_5m "
                "WHERE from_domain IS NULL AND mta_node = 'mx1'"
            ).fetchone()[0]
            == 76
        )  # NULL group keys refresh too (n % 4 = 0 of 0..300)
        # And again, concurrently, after more rows: readers are never blocked.
        conn.execute(
            "INSERT INTO wildduck.email_events (time, event_type) VALUES (%s, 'queued')", (start,)
        )
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY wildduck.email_stats_daily")


def test_retention_on_an_aggregate_and_the_refresh_policy_say_what_they_became(systems):
    _, _, done, _, _ = systems
    retention = done["wildduck/email_stats_daily/retention_policy"]
    assert retention["action"] == "not applicable on this engine"
    assert "materialized view is recomputed" in retention["reason"]
    policy = done["wildduck/email_stats_5m/refresh_policy"]
    assert "refresh_wildduck__email_stats_5m_schedule" in policy["engine_equivalent"]


def test_in_sync_passes_and_maintenance_at_now_does_nothing(systems):
    graph, url, _, result, _ = systems
    failed = [
        ("/".join(e.asset_key.path), e.check_name, e.description)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    assert failed == []
    reports = run_maintenance(graph, url)
    assert len(reports) == 13  # 12 hypertables and scheduler.message_logs
    assert all(r["statements_executed"] == 0 for r in reports.values()), reports


HYPERTABLE = """\
CREATE SCHEMA obs;
CREATE TABLE obs.readings (
    time timestamptz NOT NULL,
    sensor int NOT NULL,
    value double precision,
    PRIMARY KEY (sensor, time)
);
CREATE INDEX idx_readings_time ON obs.readings (time DESC);
SELECT create_hypertable('obs.readings', by_range('time', INTERVAL '1 hour'));
SELECT add_retention_policy('obs.readings', drop_after => INTERVAL '3 days');
CREATE MATERIALIZED VIEW obs.readings_weekly WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '7 days', r.time) AS bucket, r.sensor, avg(r.value) AS mean
FROM obs.readings r GROUP BY bucket, r.sensor WITH NO DATA;
CREATE MATERIALIZED VIEW obs.readings_monthly WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 month', r.time) AS bucket, count(*) AS n
FROM obs.readings r GROUP BY 1 WITH NO DATA;
"""


def test_maintenance_with_the_clock_moved_creates_next_drops_expired_keeps_newer_rows(
    project, database
):
    project.write("sql/obs.sql", HYPERTABLE)
    graph = project.graph()
    first = materializations(materialize(graph, database.url))
    assert first["obs/readings/hypertable"]["action"] == "created"
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # The current day, premake 4 ahead, and lookback 4 behind less the one past retention.
    names = [f"readings_p{today + timedelta(days=n):%Y%m%d}" for n in range(-3, 5)]
    assert first["obs/readings/hypertable"]["partitions_created"] == names

    later = today + timedelta(days=5, hours=12)
    cutoff = later - timedelta(days=3)  # today + 2 days 12 hours
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO obs.readings SELECT %s + n * interval '6 hours', 1, n "
            "FROM generate_series(0, 19) n",  # today 00:00 through today + 4 days 18:00
            (today,),
        )
        newer = conn.execute(
            "SELECT count(*) FROM obs.readings WHERE time >= %s", (cutoff,)
        ).fetchone()[0]

    report = run_maintenance(graph, database.url, later)["maintain_obs__readings"]
    # Premake moved with the clock: today + 5 (now) through today + 9.
    assert report["partitions_created"] == [
        f"readings_p{today + timedelta(days=n):%Y%m%d}" for n in range(5, 10)
    ]
    # Days -3 to 1 end before the cutoff; day 2 straddles it and stays.
    assert report["partitions_dropped"] == names[:5]
    with psycopg.connect(database.url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM obs.readings WHERE time >= %s", (cutoff,)
            ).fetchone()[0]
            == newer
        )
        oldest = conn.execute("SELECT min(time) FROM obs.readings").fetchone()[0]
        assert oldest == today + timedelta(days=2)
        remaining = partitions_of(conn, "obs.readings")
    assert sorted(remaining) == names[5:] + report["partitions_created"]

    again = run_maintenance(graph, database.url, later)["maintain_obs__readings"]
    assert again["partitions_created"] == [] and again["partitions_dropped"] == []
    assert again["statements_executed"] == 0

    # Aggregates translated with TimescaleDB's bucket origins: weeks start on Monday,
    # months on the first, in UTC.
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY obs.readings_weekly")
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY obs.readings_monthly")
        weekly = conn.execute("SELECT bucket FROM obs.readings_weekly").fetchall()
        monthly = conn.execute("SELECT bucket FROM obs.readings_monthly").fetchall()
    assert weekly and all(b.astimezone(UTC).isoweekday() == 1 for (b,) in weekly)
    assert monthly and all(b.astimezone(UTC).day == 1 for (b,) in monthly)


def test_a_table_made_plain_before_is_refused_clearly(project, database):
    project.write("sql/obs.sql", HYPERTABLE)
    graph = project.graph()
    with database.connect() as conn:
        conn.execute("CREATE SCHEMA obs")
        conn.execute(
            "CREATE TABLE obs.readings (time timestamptz NOT NULL, sensor int NOT NULL, "
            "value double precision, PRIMARY KEY (sensor, time))"
        )
    result = materialize(graph, database.url, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert "sql/obs.sql:9" in message
    assert "obs.readings exists but is not partitioned" in message


def test_maintenance_schedule_is_shipped(systems):
    from platform_assets.definitions import defs

    schedule = defs.get_schedule_def("partition_maintenance_schedule")
    assert schedule.job_name == "partition_maintenance"
    assert isinstance(defs.get_job_def("refresh_wildduck__email_stats_5m"), dg.JobDefinition)


def test_a_changed_width_fills_only_what_the_old_partitions_leave(project, database):
    declared = """\
CREATE SCHEMA logs;
-- platform: partition_interval="{width}" premake=2
CREATE TABLE logs.lines (at timestamptz NOT NULL, body text) PARTITION BY RANGE (at);
"""
    project.write("sql/logs.sql", declared.format(width="1 day"))
    materialize(project.graph(), database.url)
    project.write("sql/logs.sql", declared.format(width="7 days"))
    done = materializations(materialize(project.graph(), database.url))["logs/lines"]
    assert done["partitions_created"]
    now = datetime.now(UTC)
    with psycopg.connect(database.url) as conn:
        bounds = partitions_of(conn, "logs.lines")
    for hours in range(0, 14 * 24, 6):  # the current week and two ahead, without a hole
        instant = now + timedelta(hours=hours)
        monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0)
        if instant < monday + timedelta(days=21):
            assert covered(bounds, instant), instant


def test_platform_engines_prints_both_engines_per_object(capsys):
    from platform_assets.cli import main

    assert main(["engines"]) == 0
    out = capsys.readouterr().out
    block = out.split("wildduck/metrics_system/hypertable")[1].split("\n")[:3]
    assert "PostgreSQL:  table partitioned by range (time); partitions 1 day wide" in block[1]
    assert "TimescaleDB: hypertable on time, 1 HOUR chunks" in block[2]
    assert "scheduler/message_logs" in out
    assert "wildduck/email_stats_daily/retention_policy" in out
