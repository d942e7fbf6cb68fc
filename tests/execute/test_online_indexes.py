"""Indexes on tables in use: built CONCURRENTLY, an interrupted build never accepted.

A writer inserting continuously while an index is built on a 1,000,000-row table
keeps inserting during the build (a plain CREATE INDEX would hold SHARE and stop it
for the whole build); a concurrent build cancelled with pg_cancel_backend leaves an
INVALID index, which the rerun drops and builds again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.support.cli import plan, statements
from tests.support.runs import failure_message, materializations, materialize

TABLE = "CREATE SCHEMA big;\nCREATE TABLE big.events (id bigint PRIMARY KEY, v int);\n"
INDEXED = TABLE + "CREATE INDEX idx_events_v ON big.events (v);\n"
ROWS = 1_000_000
_BUILDING = "SELECT pid FROM pg_stat_progress_create_index WHERE relid = to_regclass('big.events')"


def filled(project, database) -> None:
    project.write("sql/big.sql", TABLE)
    materialize(project.graph(), database.url)
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO big.events SELECT n, n %% 1000 FROM generate_series(1, %s) n", (ROWS,)
        )
        conn.execute("ANALYZE big.events")
    project.write("sql/big.sql", INDEXED)


class Build:
    """Watches pg_stat_progress_create_index: when the build was seen, and by which pid."""

    def __init__(self, url: str):
        self.url = url
        self.started = threading.Event()
        self.first: float | None = None
        self.last: float | None = None
        self.pid: int | None = None
        self.stop = threading.Event()

    def watch(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                row = conn.execute(_BUILDING).fetchone()
                if row:
                    now = time.monotonic()
                    self.first = self.first or now
                    self.last = now
                    self.pid = row[0]
                    self.started.set()


@contextmanager
def watched(build: Build) -> Iterator[Build]:
    thread = threading.Thread(target=build.watch, daemon=True)
    thread.start()
    try:
        yield build
    finally:
        build.stop.set()
        thread.join(timeout=30)


def valid(database, name: str) -> bool | None:
    return database.value(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)
    )


def test_writer_keeps_inserting_while_an_index_is_built_on_a_million_rows(project, database):
    filled(project, database)
    pending = plan(project, database)
    assert statements(pending) == [
        "[SHARE UPDATE EXCLUSIVE] [INDEX BUILD] [AFTER COMMIT] "
        'CREATE INDEX CONCURRENTLY "idx_events_v" ON big.events(v);'
    ], pending.stdout

    inserts: list[tuple[float, float]] = []  # (finished at, took)
    stop = threading.Event()

    def write() -> None:
        with psycopg.connect(database.url, autocommit=True) as conn:
            next_id = ROWS + 1
            while not stop.is_set():
                started = time.monotonic()
                conn.execute("INSERT INTO big.events VALUES (%s, 7)", (next_id,))
                finished = time.monotonic()
                inserts.append((finished, finished - started))
                next_id += 1

    writer = threading.Thread(target=write, daemon=True)
    with watched(Build(database.url)) as build:
        writer.start()
        result = materialize(project.graph(), database.url)
        stop.set()
        writer.join(timeout=30)
    assert result.success
    assert build.first is not None and build.last is not None, "the build was never seen"
    during = [took for at, took in inserts if build.first <= at <= build.last]
    assert during, "no row was inserted while the index was built"
    assert max(took for _, took in inserts) < 1.0, max(took for _, took in inserts)
    assert valid(database, "big.idx_events_v") is True
    done = materializations(result)["big/events/idx_events_v"]
    assert done["action"] == "created"
    assert "CREATE INDEX CONCURRENTLY" in done["sql_executed"]
    count = database.value("SELECT count(*) FROM big.events WHERE v = 7")
    assert count == ROWS // 1000 + len(inserts)


def test_cancelled_concurrent_build_is_rebuilt_and_no_invalid_index_remains(project, database):
    filled(project, database)

    def cancel(build: Build) -> None:
        if build.started.wait(timeout=120):
            with psycopg.connect(database.url, autocommit=True) as conn:
                conn.execute("SELECT pg_cancel_backend(%s)", (build.pid,))

    with watched(Build(database.url)) as build:
        canceller = threading.Thread(target=cancel, args=(build,), daemon=True)
        canceller.start()
        cancelled = materialize(project.graph(), database.url, raise_on_error=False)
        canceller.join(timeout=30)
    assert not cancelled.success
    assert "canceling statement due to user request" in failure_message(cancelled)
    assert valid(database, "big.idx_events_v") is False  # what the cancel left

    rerun = materialize(project.graph(), database.url)
    done = materializations(rerun)["big/events/idx_events_v"]
    assert done["action"] == "updated"
    assert "was INVALID" in done["rebuilt_invalid"]
    assert valid(database, "big.idx_events_v") is True
    assert database.value("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == 0
    again = materializations(materialize(project.graph(), database.url))
    assert again["big/events/idx_events_v"]["action"] == "unchanged"


def test_changed_index_on_a_table_in_use_is_built_beside_and_swapped(project, database):
    project.write("sql/big.sql", INDEXED)
    materialize(project.graph(), database.url)
    database.value("INSERT INTO big.events VALUES (1, 1) RETURNING 1")
    project.write("sql/big.sql", INDEXED.replace("(v)", "(v DESC)"))
    assert statements(plan(project, database)) == [
        "[SHARE UPDATE EXCLUSIVE] [INDEX BUILD] [AFTER COMMIT] "
        'CREATE INDEX CONCURRENTLY "idx_events_v_platform_new" ON big.events(v DESC);',
        "[SHARE UPDATE EXCLUSIVE] [INDEX DROPPED] [AFTER COMMIT] "
        'DROP INDEX CONCURRENTLY IF EXISTS "big"."idx_events_v";',
        '[SHARE UPDATE EXCLUSIVE] [AFTER COMMIT] ALTER INDEX "big"."idx_events_v_platform_new" '
        'RENAME TO "idx_events_v";',
    ]
    done = materializations(materialize(project.graph(), database.url))
    assert done["big/events/idx_events_v"]["action"] == "updated"
    assert database.value("SELECT pg_get_indexdef('big.idx_events_v'::regclass)") == (
        "CREATE INDEX idx_events_v ON big.events USING btree (v DESC)"
    )
    assert database.value("SELECT to_regclass('big.idx_events_v_platform_new')") is None


def test_unique_key_on_a_table_with_rows_comes_from_a_concurrently_built_index(project, database):
    project.write("sql/big.sql", TABLE)
    materialize(project.graph(), database.url)
    database.value("INSERT INTO big.events VALUES (1, 1), (2, 2) RETURNING 1")
    project.write(
        "sql/big.sql", TABLE.replace("v int", "v int, CONSTRAINT events_v_key UNIQUE (v)")
    )
    assert statements(plan(project, database)) == [
        "[SHARE UPDATE EXCLUSIVE] [INDEX BUILD] [AFTER COMMIT] "
        'CREATE UNIQUE INDEX CONCURRENTLY "events_v_key" ON "big"."events" ("v");',
        '[ACCESS EXCLUSIVE] [AFTER COMMIT] ALTER TABLE "big"."events" '
        'ADD CONSTRAINT "events_v_key" UNIQUE USING INDEX "events_v_key";',
    ]
    done = materializations(materialize(project.graph(), database.url))
    assert done["big/events"]["statements_executed"] == 2
    assert (
        database.value(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'events_v_key'"
        )
        == "UNIQUE (v)"
    )
    again = materializations(materialize(project.graph(), database.url))
    assert again["big/events"]["action"] == "unchanged"
