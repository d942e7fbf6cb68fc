"""Faults and concurrency: a dropped connection or a stopped server mid-run leaves nothing
half-built and the rerun converges; two runs at once serialize on the schema lock."""

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
from tests.support.runs import materializations, materialize

# The materialized view sleeps while it is built, so a fault can land in the middle of it.
SLOW_SCHEMA = """\
CREATE SCHEMA s;
CREATE TABLE s.accounts (id int PRIMARY KEY);
CREATE MATERIALIZED VIEW s.slow AS SELECT a.id FROM s.accounts a
    UNION ALL SELECT 0 FROM pg_sleep({seconds});
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


def wait_for_sleeping_backend(url: str, timeout: float = 60) -> int:
    """The pid of the backend building the slow view, once it is in pg_sleep."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND query LIKE 'CREATE MATERIALIZED VIEW s.slow%'"
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.1)
    raise AssertionError("the run never reached the slow view")


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

    project.write("sql/s.sql", SLOW_SCHEMA.format(seconds=0))
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
    project.write("sql/s.sql", SLOW_SCHEMA.format(seconds=0))
    result = materializations(materialize(project.graph(), url))
    assert {meta["action"] for meta in result.values()} <= {"created", "unchanged"}
    assert relation_exists(url, "s.slow") and relation_exists(url, "s.orders")


def test_two_runs_at_once_serialize_on_the_schema_lock(project, database, tmp_path):
    project.write("sql/s.sql", SLOW_SCHEMA.format(seconds=3))
    first = start_cli_run(project, database.url, tmp_path / "one")
    wait_for_sleeping_backend(database.url)
    second = start_cli_run(project, database.url, tmp_path / "two")
    first_output, _ = first.communicate(timeout=120)
    second_output, _ = second.communicate(timeout=120)
    assert first.returncode == 0, first_output[-2000:]
    assert second.returncode == 0, second_output[-2000:]
    assert "waiting for the schema lock" in second_output
    # The second run found everything the first built: same result as one run.
    assert (
        database.value(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 's' AND c.relkind IN ('r', 'm', 'i')"
        )
        == 6
    )  # accounts, orders (+ their pkeys), slow, idx_slow_id
