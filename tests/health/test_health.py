"""Health on plain PostgreSQL: declared native partitions kept ahead and expired ones dropped,
and `chunk_health_sensor` reporting (and requesting the fix of) what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg

from platform_assets.execute import partitions
from platform_assets.health import CHUNK_HEALTH
from platform_assets.live.session import Session
from tests.support.runs import materializations, materialize
from tests.support.sensors import evaluations, sensor_tick

PARTITIONED = """\
CREATE SCHEMA logs;
-- platform: partition_interval="1 day" premake=3 retention="7 days"
CREATE TABLE logs.events (
    id bigint NOT NULL,
    at timestamptz NOT NULL,
    body text,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX idx_events_at ON logs.events (at);
"""


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def partition_names(database) -> list[str]:
    return database.partition_names("logs.events")


def test_partitions_made_ahead_rows_routed_and_rerun_does_nothing(project, database):
    project.write("sql/logs.sql", PARTITIONED)
    graph = project.graph()
    first = materializations(materialize(graph, database.url))["logs/events"]
    day = today()
    expected = [f"events_p{day + timedelta(days=n):%Y%m%d}" for n in range(4)]
    assert first["partitions_created"] == expected
    assert partition_names(database) == expected
    # The index declared on the parent is on every partition.
    assert database.value(
        "SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid "
        "WHERE i.inhparent = 'logs.events'::regclass AND NOT x.indisprimary"
    ) == len(expected)

    with database.connect() as conn:
        for n in range(4):
            conn.execute(
                "INSERT INTO logs.events VALUES (%s, %s, 'x')",
                (n, day + timedelta(days=n, hours=5)),
            )
    landed = dict(database.rows("SELECT id, tableoid::regclass::text FROM logs.events"))
    assert landed == {n: f"logs.{expected[n]}" for n in range(4)}

    second = materializations(materialize(graph, database.url))["logs/events"]
    assert second["action"] == "unchanged"
    assert second["partitions_created"] == [] and second["partitions_dropped"] == []


def test_maintenance_with_the_clock_moved_creates_next_and_drops_only_expired(project, database):
    project.write("sql/logs.sql", PARTITIONED)
    graph = project.graph()
    materialize(graph, database.url)
    day = today()
    obj = graph.relation("logs", "events")
    later = day + timedelta(days=9, hours=12)
    cutoff = later - timedelta(days=7)  # day + 2 days 12h
    with database.connect() as conn:
        conn.execute("INSERT INTO logs.events VALUES (1, %s, 'old')", (day + timedelta(hours=1),))
        # Newer than the cutoff, in a partition that starts before it: must survive.
        conn.execute(
            "INSERT INTO logs.events VALUES (2, %s, 'keep')", (cutoff + timedelta(hours=1),)
        )

    with psycopg.connect(database.url, autocommit=True) as conn:
        session = Session(conn)
        upkeep = partitions.plan(session, obj, graph, later)
        assert [name for name, _, _ in upkeep.create] == [
            f"events_p{day + timedelta(days=n):%Y%m%d}" for n in range(9, 13)
        ]
        # Partitions of day+0 and day+1 end before the cutoff; day+2 holds a newer row.
        assert upkeep.drop == [f"events_p{day + timedelta(days=n):%Y%m%d}" for n in range(2)]
        with session.transaction():
            after_commit = partitions.apply(session, obj, upkeep)
        for statement in after_commit:  # the concurrent detaches and their drops
            session.execute_after_commit(statement)
        assert partitions.plan(session, obj, graph, later).empty

    assert [r[0] for r in database.rows("SELECT body FROM logs.events")] == ["keep"]
    assert partition_names(database)[0] == f"events_p{day + timedelta(days=2):%Y%m%d}"


def test_chunk_health_sensor_reports_requests_the_fix_and_passes_after_it(project, database):
    project.write("sql/logs.sql", PARTITIONED)
    graph = project.graph()
    materialize(graph, database.url)
    healthy = evaluations(sensor_tick(graph, database.url))
    assert healthy[("logs/events", CHUNK_HEALTH)].passed

    last = partition_names(database)[-1]
    with database.connect() as conn:
        conn.execute(f"DROP TABLE logs.{last}")
        conn.execute("CREATE TABLE logs.events_default PARTITION OF logs.events DEFAULT")
        conn.execute(
            "INSERT INTO logs.events VALUES (9, %s, 'lost')",
            (today() + timedelta(days=3, hours=1),),
        )
    result = sensor_tick(graph, database.url)
    unhealthy = evaluations(result)[("logs/events", CHUNK_HEALTH)]
    assert not unhealthy.passed
    assert "no partition for" in unhealthy.description
    assert "rows in the default partition events_default" in unhealthy.description
    assert unhealthy.metadata["default_partition"].value == "events_default"
    assert [r.asset_selection for r in result.run_requests] == [[dg.AssetKey(["logs", "events"])]]

    # The requested run recreates the partition; the stray row is the operator's to move.
    with database.connect() as conn:
        conn.execute("DELETE FROM logs.events_default")
        conn.execute("DROP TABLE logs.events_default")
    materialize(graph, database.url, selection=["logs/events"])
    assert last in partition_names(database)
    assert evaluations(sensor_tick(graph, database.url))[("logs/events", CHUNK_HEALTH)].passed


def test_health_sensor_reports_a_database_that_is_down(project):
    project.write("sql/logs.sql", PARTITIONED)
    result = sensor_tick(
        project.graph(), "postgresql://postgres@127.0.0.1:9/none?connect_timeout=2"
    )
    assert isinstance(result, dg.SkipReason)
    assert "database unreachable" in result.skip_message
