"""Shared fixtures: a throwaway PostgreSQL cluster, a fresh database per test, and helpers
to compile a schema directory and materialize it through Dagster."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg.rows import dict_row
from pytest_postgresql.janitor import DatabaseJanitor

from platform_assets import settings
from platform_assets.dagster.assets import build_schema_assets
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.live.embedded import SERVER_USER, EmbeddedCluster
from platform_assets.model.graph import SchemaGraph
from platform_assets.parse.compiler import compile_directory

REPO = Path(__file__).resolve().parent.parent
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


@dataclass
class TestDatabase:
    url: str
    name: str
    cluster: EmbeddedCluster

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def value(self, query: str, params: tuple = ()) -> object:
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
            return row[0] if row else None

    def rows(self, query: str, params: tuple = ()) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(query, params).fetchall()


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


@dataclass
class Project:
    """A project directory with its own `sql/`, as a user would write it."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def graph(self) -> SchemaGraph:
        return compile_directory(self.root / "sql", self.root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def materialize(
    graph: SchemaGraph,
    url: str,
    selection: list[str] | None = None,
    raise_on_error: bool = True,
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize a graph (or a selection of asset keys like 'demo/users') in-process;
    `run_config` e.g. {"ops": {"schema_objects": {"config": {"allow_destructive": [...]}}}}."""
    assets = build_schema_assets(graph)
    selected = [dg.AssetKey(key.split("/")) for key in selection] if selection is not None else None
    return dg.materialize(
        [assets],
        resources={"database": SchemaDatabase(url=url)},
        selection=selected,
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Asset key path -> its materialization metadata values."""
    found: dict[str, dict] = {}
    for materialization in result.asset_materializations_for_node("schema_objects"):
        found["/".join(materialization.asset_key.path)] = {
            name: getattr(value, "value", value) for name, value in materialization.metadata.items()
        }
    return found


def query(url: str, text: str, params: tuple = ()) -> list[dict]:
    """Rows of one statement on a fresh connection, closed at once (the TimescaleDB test
    server takes one connection at a time)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        cursor = conn.execute(text, params)
        return cursor.fetchall() if cursor.description else []
