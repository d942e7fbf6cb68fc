"""CHECK and FOREIGN KEY: added NOT VALID, validated after the table's transaction commits.

The validation scan holds only SHARE UPDATE EXCLUSIVE, so the application keeps
writing while it runs; holding the ADD's ACCESS EXCLUSIVE through it would stop
them. The scan is held still by a CHECK whose function waits on an advisory lock
the test holds for one row, so what is observed is the server's lock state while
the scan runs (pg_stat_activity, pg_locks), not timing. A validation cancelled
with pg_cancel_backend leaves the constraint NOT VALID; the rerun validates it and
never adds it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

import psycopg

from tests.support.cli import plan, statements
from tests.support.runs import failure_message, materializations, materialize

GATE = 4242
BEFORE = (
    "CREATE SCHEMA s;\n"
    "CREATE FUNCTION s.gate(v int) RETURNS boolean LANGUAGE plpgsql AS $$\n"
    f"BEGIN IF v = 0 THEN PERFORM pg_advisory_xact_lock_shared({GATE}); END IF; "
    "RETURN true; END $$;\n"
    "CREATE TABLE s.t (id int PRIMARY KEY, v int{check});\n"
)
CHECKED = BEFORE.format(check=", CONSTRAINT t_gate CHECK (s.gate(v))")
VALIDATE = 'ALTER TABLE "s"."t" VALIDATE CONSTRAINT "t_gate"'
_VALIDATING = (
    "SELECT pid FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE%VALIDATE CONSTRAINT%' "
    "AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND datname = current_database()"
)
_TABLE_LOCKS = (
    "SELECT mode FROM pg_locks WHERE pid = %s AND relation = 's.t'::regclass AND granted "
    "ORDER BY mode"
)


def filled(project, database) -> None:
    project.write("sql/s.sql", BEFORE.format(check=""))
    materialize(project.graph(), database.url)
    database.value("INSERT INTO s.t SELECT n, n % 5 FROM generate_series(1, 1000) n RETURNING 1")
    project.write("sql/s.sql", CHECKED)


@contextmanager
def gate_closed(url: str, while_validating: Callable[[psycopg.Connection, int], None]):
    """Hold the gate's advisory lock, so the validation scan waits at the row with v = 0;
    from another thread, once it waits there, call `while_validating(conn, pid)`, then
    open the gate. Yields what the thread saw (`errors`: what it raised)."""
    seen: dict = {"errors": []}

    def watch(holder: psycopg.Connection) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                deadline = time.monotonic() + 120  # a bound for a run that never gets there
                while time.monotonic() < deadline:  # each round reads a fresh pg_stat_activity
                    row = conn.execute(_VALIDATING).fetchone()
                    if row:
                        seen["pid"] = row[0]
                        seen["locks"] = [m for (m,) in conn.execute(_TABLE_LOCKS, (row[0],))]
                        while_validating(conn, row[0])
                        return
                    conn.execute("SELECT pg_stat_clear_snapshot(), pg_sleep(0.05)")
        except Exception as error:  # reported by the test, after the gate is open
            seen["errors"].append(error)
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (GATE,))

    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (GATE,))
        thread = threading.Thread(target=watch, args=(holder,), daemon=True)
        thread.start()
        try:
            yield seen
        finally:
            thread.join(timeout=60)


def validated(database) -> bool | None:
    return database.value("SELECT convalidated FROM pg_constraint WHERE conname = 't_gate'")


def test_writes_go_on_while_a_check_is_validated_after_the_commit(project, database):
    filled(project, database)
    pending = plan(project, database)
    assert statements(pending) == [
        '[ACCESS EXCLUSIVE] ALTER TABLE "s"."t" ADD CONSTRAINT "t_gate" CHECK (s.gate(v)) '
        "NOT VALID;",
        f"[SHARE UPDATE EXCLUSIVE] [FULL SCAN] [AFTER COMMIT] {VALIDATE};",
    ], pending.stdout

    def write(conn: psycopg.Connection, pid: int) -> None:
        # The application's writes, each allowed to wait 2 s for a lock: a scan under
        # the ADD's ACCESS EXCLUSIVE would make them fail with lock_timeout.
        conn.execute("SET lock_timeout = '2s'")
        conn.execute("INSERT INTO s.t VALUES (5001, 1)")
        conn.execute("UPDATE s.t SET v = 3 WHERE id = 2")
        conn.execute("SELECT count(*) FROM s.t")

    with gate_closed(database.url, write) as seen:
        result = materialize(project.graph(), database.url)
    assert not seen["errors"], seen["errors"]
    assert "pid" in seen, "the validation was never seen waiting"
    # The scan held SHARE UPDATE EXCLUSIVE alone: the ADD's lock was released.
    assert seen["locks"] == ["ShareUpdateExclusiveLock"], seen["locks"]
    assert result.success
    assert validated(database) is True
    assert database.value("SELECT v FROM s.t WHERE id = 5001") == 1
    assert plan(project, database).returncode == 0


def test_cancelled_validation_is_completed_by_the_rerun_without_adding_again(project, database):
    filled(project, database)

    def cancel(conn: psycopg.Connection, pid: int) -> None:
        conn.execute("SELECT pg_cancel_backend(%s)", (pid,))

    with gate_closed(database.url, cancel) as seen:
        interrupted = materialize(project.graph(), database.url, raise_on_error=False)
    assert not seen["errors"], seen["errors"]
    assert not interrupted.success
    assert "canceling statement due to user request" in failure_message(interrupted)
    assert validated(database) is False  # added NOT VALID and committed, not validated

    pending = plan(project, database)
    assert statements(pending) == [
        f"[SHARE UPDATE EXCLUSIVE] [FULL SCAN] [AFTER COMMIT] {VALIDATE};"
    ]
    rerun = materialize(project.graph(), database.url)
    done = materializations(rerun)["s/t"]
    assert done["action"] == "updated"
    assert done["statements_executed"] == 1
    assert validated(database) is True
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname LIKE 't_gate%'") == 1
    assert plan(project, database).returncode == 0


def test_constraint_declared_not_valid_is_left_not_valid(project, database):
    filled(project, database)
    project.write(
        "sql/s.sql",
        BEFORE.format(check="")
        + "ALTER TABLE s.t ADD CONSTRAINT t_gate CHECK (v >= 0) NOT VALID;\n",
    )
    materialize(project.graph(), database.url)
    assert validated(database) is False
    assert plan(project, database).returncode == 0
