"""`platform db up|url|env|down` on a project-local cluster."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg

from tests.support.cli import platform


def test_db_up_url_env_down():
    directory = Path(tempfile.mkdtemp(prefix="platform-cli-"))
    directory.chmod(0o755)
    env = {**os.environ, "PLATFORM_DATA_DIR": str(directory / "cluster")}
    try:
        up = platform("db", "up", env=env)
        assert up.returncode == 0, up.stderr
        url = platform("db", "url", env=env).stdout.strip()
        with psycopg.connect(url) as conn:
            databases = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        assert {"platform", "dagster"} <= databases
        exports = platform("db", "env", env=env).stdout
        assert f"export PLATFORM_DATABASE_URL={url}" in exports
        assert "PLATFORM_DAGSTER_STORAGE_URL=" in exports
        # Idempotent: up on a running cluster changes nothing and succeeds.
        assert platform("db", "up", env=env).returncode == 0
    finally:
        down = platform("db", "down", env=env)
    assert down.returncode == 0, down.stderr
    try:
        psycopg.connect(url, connect_timeout=2).close()
        reachable = True
    except psycopg.OperationalError:
        reachable = False
    assert not reachable
