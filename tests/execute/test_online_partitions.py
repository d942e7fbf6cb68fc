"""Partition upkeep on a table in use: never the parent's ACCESS EXCLUSIVE where avoidable.

Expired partitions are detached CONCURRENTLY after the table's transaction: the
detach waits for a reader's open transaction without making the application queue
behind it (observed in pg_stat_activity and pg_locks while it waits). Cancelled
there, it leaves the partition "detach pending", which the rerun FINALIZEs. With a
DEFAULT partition the server forbids it, and the plan says so. Partitions made
ahead are created standalone and ATTACHed, so a reader and writer holding their
locks on the parent in an open transaction never stop the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.support.cli import plan, statements
from tests.support.runs import failure_message, in_sync, materializations, materialize

# Server behaviour: on the system's PostgreSQL and on the wheel's.
pytestmark = pytest.mark.each_server

DECLARED = """\
CREATE SCHEMA logs;
-- platform: partition_interval="1 day" premake={premake} retention="2 days"
CREATE TABLE logs.lines (at timestamptz NOT NULL, body text) PARTITION BY RANGE (at);
"""
OLD = "lines_p20200101"
DETACH = 'ALTER TABLE "logs"."lines" DETACH PARTITION "logs"."lines_p20200101"'
_DETACHING = (
    "SELECT pid FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE%DETACH PARTITION%' "
    "AND wait_event_type = 'Lock' AND datname = current_database()"
)
_PARENT_LOCKS = (
    "SELECT mode FROM pg_locks WHERE pid = %s AND relation = 'logs.lines'::regclass "
    "AND granted ORDER BY mode"
)


def declared(premake: int = 1) -> str:
    return DECLARED.format(premake=premake)


def with_expired_partition(project, database, default: bool = False) -> None:
    project.write("sql/logs.sql", declared())
    materialize(project.graph(), database.url)
    with database.connect() as conn:
        conn.execute(
            f"CREATE TABLE logs.{OLD} PARTITION OF logs.lines "
            "FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')"
        )
        if default:
            conn.execute("CREATE TABLE logs.lines_default PARTITION OF logs.lines DEFAULT")
        conn.execute("INSERT INTO logs.lines VALUES (now(), 'kept')")


@contextmanager
def reader_in_transaction(url: str) -> Iterator[psycopg.Connection]:
    """A reader that has read the parent in a transaction it keeps open."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT count(*) FROM logs.lines")
        yield conn


def watch_detach(
    url: str, reader: psycopg.Connection, while_waiting: Callable[[psycopg.Connection, int], None]
) -> tuple[threading.Thread, dict]:
    """From a thread: once the detach waits (for `reader`'s transaction), note its locks
    on the parent, call `while_waiting(conn, pid)`, then end the reader's transaction."""
    seen: dict = {"errors": []}

    def watch() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                deadline = time.monotonic() + 120  # a bound for a run that never gets there
                while time.monotonic() < deadline:  # each round reads a fresh pg_stat_activity
                    row = conn.execute(_DETACHING).fetchone()
                    if row:
                        seen["pid"] = row[0]
                        seen["locks"] = [m for (m,) in conn.execute(_PARENT_LOCKS, (row[0],))]
                        while_waiting(conn, row[0])
                        return
                    conn.execute("SELECT pg_stat_clear_snapshot(), pg_sleep(0.05)")
        except Exception as error:  # reported by the test
            seen["errors"].append(error)
        finally:
            reader.commit()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, seen


def test_reader_keeps_reading_while_an_expired_partition_is_detached_concurrently(
    project, database
):
    with_expired_partition(project, database)
    pending = plan(project, database)
    assert statements(pending) == [
        f"[SHARE UPDATE EXCLUSIVE] [AFTER COMMIT] {DETACH} CONCURRENTLY;",
        '[ACCESS EXCLUSIVE] [DELETES DATA] [AFTER COMMIT] DROP TABLE "logs"."lines_p20200101";',
    ], pending.stdout

    def application(conn: psycopg.Connection, pid: int) -> None:
        # Reads and writes of the parent, each allowed to wait 200 ms: a plain DETACH
        # waiting for ACCESS EXCLUSIVE would queue them behind it.
        with psycopg.connect(database.url, autocommit=True) as app:
            app.execute("SET lock_timeout = '200ms'")
            seen_rows = app.execute("SELECT count(*) FROM logs.lines").fetchone()[0]
            app.execute("INSERT INTO logs.lines VALUES (now(), 'during')")
        assert seen_rows == 1

    with reader_in_transaction(database.url) as reader:
        thread, seen = watch_detach(database.url, reader, application)
        result = materialize(project.graph(), database.url)
        thread.join(timeout=60)
    assert not seen["errors"], seen["errors"]
    assert "pid" in seen, "the detach was never seen waiting"
    # Waiting for the reader's transaction, it holds no lock on the parent that would
    # make a read or write wait (a plain DETACH would be queued for ACCESS EXCLUSIVE).
    assert not set(seen["locks"]) - {"ShareUpdateExclusiveLock"}, seen["locks"]
    done = materializations(result)["logs/lines"]
    assert done["partitions_dropped"] == [OLD]
    assert database.value(f"SELECT to_regclass('logs.{OLD}')") is None
    assert database.value("SELECT count(*) FROM logs.lines") == 2
    assert plan(project, database).returncode == 0


def test_cancelled_concurrent_detach_is_finalized_by_the_rerun(project, database):
    with_expired_partition(project, database)

    def cancel(conn: psycopg.Connection, pid: int) -> None:
        conn.execute("SELECT pg_cancel_backend(%s)", (pid,))

    with reader_in_transaction(database.url) as reader:
        thread, seen = watch_detach(database.url, reader, cancel)
        interrupted = materialize(project.graph(), database.url, raise_on_error=False)
        thread.join(timeout=60)
    assert not seen["errors"], seen["errors"]
    assert not interrupted.success
    assert "canceling statement due to user request" in failure_message(interrupted)
    pending_detach = "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = %s::regclass"
    assert database.value(pending_detach, (f"logs.{OLD}",)) is True

    pending = plan(project, database)
    assert statements(pending) == [
        f"[SHARE UPDATE EXCLUSIVE] [AFTER COMMIT] {DETACH} FINALIZE;",
        '[ACCESS EXCLUSIVE] [DELETES DATA] [AFTER COMMIT] DROP TABLE "logs"."lines_p20200101";',
    ], pending.stdout
    rerun = materialize(project.graph(), database.url)
    assert materializations(rerun)["logs/lines"]["partitions_dropped"] == [OLD]
    assert database.value(f"SELECT to_regclass('logs.{OLD}')") is None
    assert plan(project, database).returncode == 0


def test_a_default_partition_forbids_the_concurrent_detach_and_the_plan_says_so(project, database):
    with_expired_partition(project, database, default=True)
    pending = plan(project, database)
    assert statements(pending) == [
        f"[ACCESS EXCLUSIVE] {DETACH};  -- the parent has a DEFAULT partition, which forbids "
        "DETACH ... CONCURRENTLY: the parent is locked ACCESS EXCLUSIVE until the transaction "
        "ends",
        '[ACCESS EXCLUSIVE] [DELETES DATA] DROP TABLE "logs"."lines_p20200101";',
    ], pending.stdout
    materialize(project.graph(), database.url)
    assert database.value(f"SELECT to_regclass('logs.{OLD}')") is None


def test_partitions_made_ahead_leave_a_reader_and_writer_of_the_parent_going(project, database):
    project.write("sql/logs.sql", declared(premake=1))
    materialize(project.graph(), database.url)
    before = database.value(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'logs.lines'::regclass"
    )

    project.write("sql/logs.sql", declared(premake=3))
    pending = plan(project, database)
    attach = [line for line in statements(pending) if "ATTACH PARTITION" in line]
    assert len(attach) == 2 and all(
        line.startswith('[SHARE UPDATE EXCLUSIVE] ALTER TABLE "logs"."lines" ATTACH')
        for line in attach
    ), pending.stdout
    assert not any("ACCESS EXCLUSIVE" in line for line in statements(pending)), pending.stdout

    # The application holds ACCESS SHARE and ROW EXCLUSIVE on the parent until it commits;
    # CREATE TABLE ... PARTITION OF (ACCESS EXCLUSIVE) would wait for it and, after its
    # 3 s budget, fail naming it.
    quick = {"ops": {"schema_objects": {"config": {"lock_retry_budget": "3s"}}}}
    with psycopg.connect(database.url) as application:
        application.execute("SELECT count(*) FROM logs.lines")
        application.execute("INSERT INTO logs.lines VALUES (now(), 'open')")
        pid = application.info.backend_pid
        result = materialize(project.graph(), database.url, run_config=quick)
        held = [
            mode
            for (mode,) in application.execute(
                "SELECT mode FROM pg_locks WHERE pid = %s AND relation = 'logs.lines'::regclass "
                "AND granted ORDER BY mode",
                (pid,),
            )
        ]
    assert held == ["AccessShareLock", "RowExclusiveLock"]
    done = materializations(result)["logs/lines"]
    assert len(done["partitions_created"]) == 2
    after = database.value(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'logs.lines'::regclass"
    )
    assert after == before + 2
    assert database.value("SELECT count(*) FROM logs.lines WHERE body = 'open'") == 1
    # The bound's CHECK was only a proof for ATTACH: dropped once attached.
    assert (
        database.value("SELECT count(*) FROM pg_constraint WHERE conname LIKE '%platform_bound'")
        == 0
    )
    assert in_sync(result, "logs/lines").passed
    assert plan(project, database).returncode == 0
