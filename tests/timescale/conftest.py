"""One TimescaleDB test server for the whole session, shared by the tests of this folder.

The server's single backend cannot drop TimescaleDB and create it again, so the extension
is created once, when the session's server starts; each test then gets the server back as
it found it: the schemas, public relations and jobs a test made are dropped after it. A
test about a server where TimescaleDB was never installed takes `fresh_server` instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg import sql

from tests.support.timescale import TimescaleServer, timescale_server

# Jobs below this id are TimescaleDB's own (telemetry, job history retention).
FIRST_USER_JOB = 1000


@pytest.fixture(scope="session")
def session_server() -> Iterator[TimescaleServer]:
    with timescale_server() as url:
        before = [row[0] for row in TimescaleServer(url).rows(_EXTENSIONS)]
        with TimescaleServer(url).connect() as conn:
            status = conn.execute("CREATE EXTENSION timescaledb").statusmessage or ""
        yield TimescaleServer(url, extensions_before=before, create_status=status)


@pytest.fixture
def server(session_server: TimescaleServer) -> Iterator[TimescaleServer]:
    """The session's server, restored after the test to what it held before."""
    schemas = set(_schemas(session_server))
    relations = set(_public_relations(session_server))
    yield session_server
    _restore(session_server, schemas, relations)
    # A leftover would leak into the next test's catalog reads: fail here, naming it.
    assert set(_schemas(session_server)) == schemas
    assert set(_public_relations(session_server)) == relations
    assert not session_server.rows(_USER_JOBS, (FIRST_USER_JOB,))


@pytest.fixture
def server_url(server: TimescaleServer) -> str:
    return server.url


@pytest.fixture
def fresh_server() -> Iterator[TimescaleServer]:
    """A server of its own, TimescaleDB available but not installed."""
    with timescale_server() as url:
        yield TimescaleServer(url)


_EXTENSIONS = "SELECT extname FROM pg_extension ORDER BY 1"
_USER_JOBS = "SELECT job_id FROM timescaledb_information.jobs WHERE job_id >= %s"


def _schemas(server: TimescaleServer) -> list[str]:
    return [row[0] for row in server.rows("SELECT nspname::text FROM pg_namespace")]


def _public_relations(server: TimescaleServer) -> list[tuple[str, str]]:
    """(name, relkind) of the tables and views in public, continuous aggregates included."""
    return server.rows(
        "SELECT relname::text, relkind::text FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm')"
    )


def _restore(server: TimescaleServer, schemas: set[str], relations: set[tuple[str, str]]) -> None:
    aggregates = {
        row[0]
        for row in server.rows(
            "SELECT view_name::text FROM timescaledb_information.continuous_aggregates "
            "WHERE view_schema = 'public'"
        )
    }
    made = set(_public_relations(server)) - relations
    new_schemas = set(_schemas(server)) - schemas
    # Aggregates before the hypertables they read; CASCADE takes what depends on each.
    drops = [("MATERIALIZED VIEW", name) for name in sorted(aggregates & {n for n, _ in made})]
    drops += [(_DROP[kind], name) for name, kind in sorted(made) if name not in aggregates]
    with server.connect() as conn:
        for kind, name in drops:
            conn.execute(
                sql.SQL("DROP {} IF EXISTS {} CASCADE").format(
                    sql.SQL(kind), sql.Identifier("public", name)
                )
            )
        for schema in sorted(new_schemas):
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        for (job_id,) in conn.execute(_USER_JOBS, (FIRST_USER_JOB,)).fetchall():
            conn.execute("SELECT delete_job(%s)", (job_id,))


_DROP = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
