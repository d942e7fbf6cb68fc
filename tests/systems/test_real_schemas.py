"""Real schemas load as they are: a database's own `pg_dump --schema-only` is a project.

The corpus (fixtures/real/pg_dump_corpus.sql) is built into a database D with
every object type pg_dump writes; D's dump, unchanged, is the project's `sql/`;
materializing it into an empty database E must give E the same dump.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.support.databases import TestDatabase
from tests.support.project import REPO, Project
from tests.support.runs import materializations, materialize

FIXTURES = REPO / "tests" / "fixtures" / "real"
CORPUS = FIXTURES / "pg_dump_corpus.sql"
ROLE = "corpus_reader"


def dump_blocks(dump: str) -> list[str]:
    """A dump's statements, sorted: equal lists mean equal dumps up to ordering.

    pg_dump's comment headers (they carry dump ids) and its per-dump `\\restrict`
    key are left out; everything else is compared as written.
    """
    blocks: list[str] = []
    current: list[str] = []
    for line in dump.splitlines():
        if line.startswith("--") or line.startswith("\\"):
            continue
        if not line.strip():
            if current:
                blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return sorted(blocks)


def create_role(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(ROLE)))


@pytest.fixture
def source_database(pg_cluster, database: TestDatabase) -> TestDatabase:
    """D: the corpus run by psql's rules (one script), as a user's database would be."""
    create_role(database.url)
    with database.connect() as conn:
        conn.execute(CORPUS.read_text())
    yield database
    with database.connect() as conn:  # the event trigger is global to D only; drop it
        conn.execute("DROP EVENT TRIGGER IF EXISTS corpus_ddl")


@pytest.fixture
def target_database(pg_cluster) -> TestDatabase:
    """E: an empty database on the same cluster (roles are the cluster's)."""
    name = "real_target"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield TestDatabase(pg_cluster.url(name), name, pg_cluster)
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def test_pg_dump_round_trip(
    source_database: TestDatabase, target_database: TestDatabase, project: Project
):
    cluster = source_database.cluster
    dumped = cluster.dump_schema(source_database.name)
    project.write("sql/dump.sql", dumped)
    graph = project.graph()

    first = materialize(graph, target_database.url)
    assert first.success
    assert dump_blocks(cluster.dump_schema(target_database.name)) == dump_blocks(dumped)

    second = materialize(graph, target_database.url)
    executed = {
        key: meta["statements_executed"]
        for key, meta in materializations(second).items()
        if meta["statements_executed"]
    }
    assert executed == {}, {k: materializations(second)[k]["sql_executed"] for k in executed}
    checks = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert len(checks) == len(graph) and all(check.passed for check in checks), [
        (check.asset_key.to_user_string(), check.description)
        for check in checks
        if not check.passed
    ]


TUTORIALS = sorted(FIXTURES.glob("tutorial_*.sql"))


def tutorial_project(project: Project) -> Project:
    for path in TUTORIALS:
        project.write(f"sql/{path.name}", path.read_text())
    return project


def statements_run(result) -> dict[str, int]:
    return {
        key: meta["statements_executed"]
        for key, meta in materializations(result).items()
        if meta.get("statements_executed")
    }


def test_tutorials_materialize_on_plain_postgresql(database: TestDatabase, project: Project):
    graph = tutorial_project(project).graph()
    first = materialize(graph, database.url)
    assert first.success
    assert database.value("SELECT count(*) FROM payment_types") == 6
    assert database.value("SELECT count(*) FROM rates") == 6
    assert database.value("SELECT name FROM devices WHERE id = 2") == "chiller"
    # The hypertables' native form: range partitions on the time column.
    assert (
        database.value("SELECT pg_get_partkeydef('rides'::regclass)") == "RANGE (pickup_datetime)"
    )
    assert database.value("SELECT pg_get_partkeydef('readings'::regclass)") == "RANGE (ts)"
    second = materialize(graph, database.url)
    assert statements_run(second) == {}
    in_sync = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert in_sync and all(c.passed for c in in_sync)
