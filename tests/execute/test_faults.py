"""Faults and concurrency: a dropped connection or a stopped server mid-run leaves nothing
half-built and the rerun converges; a run waits for the schema lock another holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from platform_assets.live.embedded import EmbeddedCluster
from platform_assets.live.session import SCHEMA_LOCK_KEY
from tests.support.runs import materializations, materialize

# The schema the faults are injected into, its view built at once.
SCHEMA = """\
CREATE SCHEMA s;
CREATE TABLE s.accounts (id int PRIMARY KEY);
CREATE MATERIALIZED VIEW s.slow AS SELECT a.id FROM s.accounts a
    UNION ALL SELECT 0;
CREATE UNIQUE INDEX idx_slow_id ON s.slow (id);
CREATE TABLE s.orders (id int PRIMARY KEY, account_id int REFERENCES s.accounts (id));
"""

# The view's build waits for an advisory lock the test holds, so a fault lands inside the
# view's transaction however long the run takes to get there; the rerun's view waits for
# nothing.
VIEW_LOCK = 4242
BLOCKED_SCHEMA = f"""\
CREATE SCHEMA s;
CREATE TABLE s.accounts (id int PRIMARY KEY);
CREATE MATERIALIZED VIEW s.slow AS SELECT a.id FROM s.accounts a
    UNION ALL SELECT 0 FROM pg_advisory_xact_lock_shared({VIEW_LOCK});
CREATE UNIQUE INDEX idx_slow_id ON s.slow (id);
CREATE TABLE s.orders (id int PRIMARY KEY, account_id int REFERENCES s.accounts (id));
"""


def start_cli_run(project, url: str, dagster_home: Path) -> subprocess.Popen:
    dagster_home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": url,
        "PLATFORM_PROJECT_DIR": str(project.root),
        "DAGSTER_HOME": str(dagster_home),
    }
    dagster = str(Path(sys.executable).parent / "dagster")
    return subprocess.Popen(
        [dagster, "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_blocked_view(url: str, timeout: float = 60) -> int:
    """The pid of the backend building the view, once it waits for the test's lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                "WHERE NOT l.granted AND l.locktype = 'advisory' AND l.objid = %s "
                "AND a.query LIKE 'CREATE MATERIALIZED VIEW s.slow%%'",
                (VIEW_LOCK,),
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.1)  # the next look at the catalog
    raise AssertionError("the run never reached the view")


@contextmanager
def held_view_lock(url: str) -> Iterator[None]:
    """The lock the blocked view's build waits for, held by the test."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (VIEW_LOCK,))
        yield


def relation_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None


def test_terminated_connection_mid_run_then_rerun_converges(project, database, tmp_path):
    project.write("sql/s.sql", BLOCKED_SCHEMA)
    with held_view_lock(database.url):
        run = start_cli_run(project, database.url, tmp_path)
        pid = wait_for_blocked_view(database.url)
        assert database.value("SELECT pg_terminate_backend(%s)", (pid,)) is True
        output, _ = run.communicate(timeout=120)
    assert run.returncode != 0
    assert relation_exists(database.url, "s.accounts")
    assert not relation_exists(database.url, "s.slow")  # rolled back, not half-built
    assert not relation_exists(database.url, "s.idx_slow_id")

    project.write("sql/s.sql", SCHEMA)
    result = materializations(materialize(project.graph(), database.url))
    assert result["s/slow"]["action"] == "created"
    assert result["s/accounts"]["action"] == "unchanged"
    again = materializations(materialize(project.graph(), database.url))
    assert all(meta["statements_executed"] == 0 for meta in again.values())


@pytest.fixture
def own_cluster():
    """A cluster this test may stop and start."""
    directory = Path(tempfile.mkdtemp(prefix="platform-fault-"))
    directory.chmod(0o755)
    cluster = EmbeddedCluster(directory)
    cluster.up(databases=("faults",))
    try:
        yield cluster
    finally:
        cluster.down()
        shutil.rmtree(directory, ignore_errors=True)


def test_server_stopped_mid_run_then_restarted_and_rerun_converges(project, own_cluster, tmp_path):
    url = own_cluster.url("faults")
    project.write("sql/s.sql", BLOCKED_SCHEMA)
    with held_view_lock(url):
        run = start_cli_run(project, url, tmp_path)
        wait_for_blocked_view(url)
        own_cluster._run(["pg_ctl", "-D", str(own_cluster.data_dir), "-m", "immediate", "stop"])
        output, _ = run.communicate(timeout=120)
    assert run.returncode != 0

    own_cluster.up(databases=("faults",))  # crash recovery on start
    assert relation_exists(url, "s.accounts")
    assert not relation_exists(url, "s.slow")
    project.write("sql/s.sql", SCHEMA)
    result = materializations(materialize(project.graph(), url))
    assert {meta["action"] for meta in result.values()} <= {"created", "unchanged"}
    assert relation_exists(url, "s.slow") and relation_exists(url, "s.orders")


def wait_for_schema_lock_waiter(url: str, timeout: float = 60) -> int:
    """The pid of the backend queued for the schema lock, once the server shows it waiting."""
    unsigned = SCHEMA_LOCK_KEY & 0xFFFFFFFFFFFFFFFF
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND classid = %s::oid AND objid = %s::oid",
                (unsigned >> 32, unsigned & 0xFFFFFFFF),
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.1)  # the next look at the catalog
    raise AssertionError("no run queued for the schema lock")


def test_a_run_waits_for_the_schema_lock_held_elsewhere_and_finishes_once_released(
    project, database, tmp_path
):
    project.write("sql/s.sql", SCHEMA)
    with psycopg.connect(database.url, autocommit=True) as holder:
        # The lock as another run (another Dagster instance, a `platform` command) holds it.
        holder.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        holder_pid = holder.info.backend_pid
        run = start_cli_run(project, database.url, tmp_path)
        wait_for_schema_lock_waiter(database.url)
        # Queued before changing anything, however long it took to start.
        assert run.poll() is None
        assert not relation_exists(database.url, "s.accounts")
        holder.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
        output, _ = run.communicate(timeout=120)
    assert run.returncode == 0, output[-2000:]
    assert (
        "waiting for the schema lock: another run is changing this database "
        f"(backend pid {holder_pid})" in output
    )
    assert "schema lock acquired" in output
    assert (
        database.value(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 's' AND c.relkind IN ('r', 'm', 'i')"
        )
        == 6
    )  # accounts, orders (+ their pkeys), slow, idx_slow_id
