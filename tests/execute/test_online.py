"""Online schema changes: a reader holding a lock never turns a change into an outage.

A second connection holds ACCESS SHARE on a table in an open transaction while the
table gains a column and an index. The application's reads and writes, issued every
0.5 s from a thread and each timed, wait at most lock_timeout + 1 s; the run retries
(saying who holds the lock) and succeeds once the reader ends, or fails naming the
reader's pid when its retry budget is shorter; a rerun converges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from platform_assets.execute.online import LockPolicy, duration_seconds
from platform_assets.model.hazards import Hazard, LockLevel, planned
from tests.support.cli import plan, statements
from tests.support.runs import (
    failure_message,
    in_sync,
    materializations,
    materialize,
    materialize_logged,
)

BEFORE = "CREATE SCHEMA s;\nCREATE TABLE s.t (id int PRIMARY KEY, v text);\n"
AFTER = (
    "CREATE SCHEMA s;\nCREATE TABLE s.t (id int PRIMARY KEY, v text, note text);\n"
    "CREATE INDEX idx_t_note ON s.t (note);\n"
)
LOCK_TIMEOUT = "500ms"


def online(**settings: str) -> dict:
    return {"ops": {"schema_objects": {"config": settings}}}


class Application:
    """Reads and writes s.t every 0.5 s from its own thread, timing each statement."""

    def __init__(self, url: str):
        self.url = url
        self.waits: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("SET application_name = 'application'")
                next_id = 1_000_000
                while not self.stop.is_set():
                    for statement, params in (
                        ("SELECT count(*) FROM s.t", None),
                        ("INSERT INTO s.t (id, v) VALUES (%s, 'app')", (next_id,)),
                    ):
                        started = time.monotonic()
                        conn.execute(statement, params)
                        self.waits.append(time.monotonic() - started)
                    next_id += 1
                    self.stop.wait(0.5)
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    @contextmanager
    def running(self) -> Iterator[Application]:
        self.thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            self.thread.join(timeout=30)
        assert self.error is None, self.error
        assert len(self.waits) >= 4, "the application did not run during the change"


@contextmanager
def reader(url: str) -> Iterator[psycopg.Connection]:
    """A transaction holding ACCESS SHARE on s.t until the caller ends it."""
    with psycopg.connect(url) as conn:
        conn.execute("SET application_name = 'long_reader'")
        conn.execute("SELECT count(*) FROM s.t")
        yield conn
        conn.rollback()


def prepare(project, database) -> None:
    project.write("sql/s.sql", BEFORE)
    materialize(project.graph(), database.url)
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("INSERT INTO s.t SELECT n, 'row ' || n FROM generate_series(1, 1000) n")
    project.write("sql/s.sql", AFTER)


def columns(database) -> list[str]:
    return [
        row[0]
        for row in database.rows(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = 's.t'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
    ]


def test_change_behind_a_reader_retries_without_stalling_the_application(project, database):
    prepare(project, database)
    retried = threading.Event()
    logged: list[str] = []

    def on_log(message: str) -> None:
        logged.append(message)
        if "retrying in" in message:
            retried.set()

    with reader(database.url) as held:
        reader_pid = held.info.backend_pid

        def release() -> None:
            if retried.wait(timeout=120):
                held.rollback()

        releaser = threading.Thread(target=release, daemon=True)
        releaser.start()
        with Application(database.url).running() as application:
            result = materialize_logged(
                project.graph(), database.url, on_log, online(lock_timeout=LOCK_TIMEOUT)
            )
        releaser.join(timeout=30)

    assert result.success
    retry = next(message for message in logged if "retrying in" in message)
    assert "table s.t: lock not granted within 500ms (attempt 1)" in retry
    assert f"pid {reader_pid} (application_name 'long_reader'" in retry
    assert "AccessShareLock on s.t" in retry
    assert max(application.waits) < duration_seconds(LOCK_TIMEOUT) + 1, application.waits
    assert columns(database) == ["id", "v", "note"]
    assert database.value(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 's.idx_t_note'::regclass"
    )
    done = materializations(result)["s/t"]
    [added] = done["statement_hazards"]
    assert added["lock"] == "ACCESS EXCLUSIVE" and added["sql"].endswith("ADD COLUMN note TEXT")
    again = materializations(materialize(project.graph(), database.url))
    assert {meta["action"] for meta in again.values()} == {"unchanged"}


def test_retry_budget_shorter_than_the_reader_fails_naming_it_then_a_rerun_converges(
    project, database
):
    prepare(project, database)
    config = online(lock_timeout="200ms", lock_retry_budget="1s")
    with reader(database.url) as held:
        reader_pid = held.info.backend_pid
        with Application(database.url).running() as application:
            refused = materialize(
                project.graph(), database.url, raise_on_error=False, run_config=config
            )
    assert not refused.success
    message = failure_message(refused)
    assert "sql/s.sql:2: table s.t: lock not granted within lock_timeout 200ms" in message
    assert f"held by pid {reader_pid} (application_name 'long_reader'" in message
    assert "not run: s/t failed" in message  # its index waits for it
    assert max(application.waits) < duration_seconds("200ms") + 1, application.waits
    assert columns(database) == ["id", "v"]  # rolled back: as it was

    rerun = materializations(materialize(project.graph(), database.url, run_config=config))
    assert rerun["s/t"]["action"] == "updated"
    assert rerun["s/t/idx_t_note"]["action"] == "created"
    assert columns(database) == ["id", "v", "note"]


def test_an_annotation_sets_one_object_s_lock_timeout(project, database):
    prepare(project, database)
    annotated = AFTER.replace(
        "CREATE TABLE", "-- platform: lock_retry_budget=1s lock_timeout=100ms\nCREATE TABLE"
    )
    project.write("sql/s.sql", annotated)
    with reader(database.url):
        refused = materialize(project.graph(), database.url, raise_on_error=False)
    assert "lock not granted within lock_timeout 100ms" in failure_message(refused)
    assert "retry budget 1s" in failure_message(refused)


@pytest.mark.parametrize("text, seconds", [("500ms", 0.5), ("2s", 2), ("1min", 60), ("250", 0.25)])
def test_durations_read_as_postgresql_settings_spell_them(text, seconds):
    assert duration_seconds(text) == seconds


def test_statement_timeout_follows_the_statement_class():
    policy = LockPolicy()
    assert policy.timeouts(planned("ALTER ...", LockLevel.ACCESS_EXCLUSIVE)) == ("1s", "1min")
    build = planned("CREATE INDEX ...", LockLevel.SHARE, Hazard.INDEX_BUILD)
    assert policy.timeouts(build) == ("1s", "1h")
    with pytest.raises(ValueError, match="unreadable duration"):
        LockPolicy(lock_timeout="soon")


def test_set_not_null_on_a_table_with_rows_is_proven_by_a_validated_check_first(project, database):
    prepare(project, database)
    project.write("sql/s.sql", BEFORE.replace("v text", "v text NOT NULL"))
    assert statements(plan(project, database)) == [
        '[ACCESS EXCLUSIVE] ALTER TABLE "s"."t" ADD CONSTRAINT "v_platform_not_null" '
        'CHECK ("v" IS NOT NULL) NOT VALID;',
        '[SHARE UPDATE EXCLUSIVE] [FULL SCAN] [AFTER COMMIT] ALTER TABLE "s"."t" '
        'VALIDATE CONSTRAINT "v_platform_not_null";',
        '[ACCESS EXCLUSIVE] [AFTER COMMIT] ALTER TABLE "s"."t" ALTER COLUMN "v" SET NOT NULL;',
        '[ACCESS EXCLUSIVE] [AFTER COMMIT] ALTER TABLE "s"."t" '
        'DROP CONSTRAINT "v_platform_not_null";',
    ]
    result = materialize(project.graph(), database.url)
    assert materializations(result)["s/t"]["statements_executed"] == 4
    assert in_sync(result, "s/t").passed
    assert database.value(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 's.t'::regclass AND attname = 'v'"
    )
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname LIKE '%platform%'") == 0

    # Interrupted after the check was added: the next run completes it.
    project.write("sql/s.sql", BEFORE)
    materialize(project.graph(), database.url)
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE s.t ADD CONSTRAINT v_platform_not_null CHECK (v IS NOT NULL) NOT VALID"
        )
    project.write("sql/s.sql", BEFORE.replace("v text", "v text NOT NULL"))
    resumed = materializations(materialize(project.graph(), database.url))["s/t"]
    assert resumed["statements_executed"] == 3
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname LIKE '%platform%'") == 0


def test_only_statements_that_block_writes_wait_at_most_lock_timeout():
    policy = LockPolicy()
    validate = planned("VALIDATE ...", LockLevel.SHARE_UPDATE_EXCLUSIVE, Hazard.FULL_SCAN)
    assert policy.timeouts(validate) == ("1h", "1h")
    assert policy.timeouts(planned("CALL run_job(1)")) == ("1h", "1h")
    trigger = planned("CREATE TRIGGER ...", LockLevel.SHARE_ROW_EXCLUSIVE)
    assert policy.timeouts(trigger) == ("1s", "1min")
