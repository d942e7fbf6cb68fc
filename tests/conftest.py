"""Fixtures of every area: a throwaway PostgreSQL cluster for the session, a fresh database
per test and a project directory. The helpers they lean on live in `tests/support/`."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from platform_assets import settings
from platform_assets.live.embedded import SERVER_USER, EmbeddedCluster
from tests.support.databases import TestDatabase
from tests.support.project import Project

# The wildduck admin seed needs its password from the environment (tests that need it
# unset remove it); subprocesses the tests start inherit it.
ADMIN_PASSWORD = "correct horse battery staple"
os.environ.setdefault("WILDDUCK_ADMIN_PASSWORD", ADMIN_PASSWORD)
# The README's command one exports the project cluster's URLs and DAGSTER_HOME into the shell
# that then runs the tests: each test names its own database and instance instead.
for _variable in (
    settings.DATABASE_URL,
    settings.DAGSTER_STORAGE_URL,
    settings.PROJECT_DIR,
    settings.DATA_DIR,
    "DAGSTER_HOME",
):
    os.environ.pop(_variable, None)
_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[EmbeddedCluster]:
    """A PostgreSQL cluster for the whole test session, removed afterwards.

    It lives under /tmp rather than pytest's per-user temp dir: as root, the
    server runs as the `postgres` user, which cannot enter root's private dirs.
    """
    directory = Path(tempfile.mkdtemp(prefix="platform-tests-"))
    directory.chmod(0o755)
    cluster = EmbeddedCluster(directory)
    cluster.up(databases=())
    try:
        yield cluster
    finally:
        cluster.down()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def database(pg_cluster: EmbeddedCluster) -> Iterator[TestDatabase]:
    """A fresh, empty database on the session cluster."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    janitor = DatabaseJanitor(
        user=SERVER_USER, host="127.0.0.1", port=pg_cluster.port, dbname=name, version="15"
    )
    janitor.init()
    try:
        yield TestDatabase(pg_cluster.url(name), name, pg_cluster)
    finally:
        janitor.drop()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)
