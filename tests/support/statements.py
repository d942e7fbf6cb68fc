"""What a database server was sent: its statement log, read back per database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import SqlglotError

from platform_assets.parse.dialect import DIALECT
from tests.support.databases import TestDatabase

# Where PostgreSQL and TimescaleDB keep their catalogs.
CATALOG_SCHEMAS = {"pg_catalog", "information_schema", "timescaledb_information"}


@contextmanager
def logged_statements(database: TestDatabase) -> Iterator[list[str]]:
    """Every statement sessions send to `database` inside the block (the list is filled
    when the block ends), from the server's own log (`log_statement = all`)."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET log_statement = 'all'").format(
                sql.Identifier(database.name)
            )
        )
    log = database.cluster.log_file
    offset = log.stat().st_size
    statements: list[str] = []
    yield statements
    statements += _statements(log.read_text(errors="replace")[offset:], database.name)


def _statements(text: str, database: str) -> list[str]:
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line[:4].isdigit():  # an entry starts with its timestamp
            current = None
            if f"db={database} " not in line:
                continue
            for marker in ("statement: ", "execute <unnamed>: "):
                if marker in line and " LOG: " in line:
                    current = [line.split(marker, 1)[1]]
                    found.append(current)
        elif current is not None:  # a continuation line of a multi-line statement
            current.append(line)
    return ["\n".join(lines).strip() for lines in found]


def reads_catalog(statement: str) -> bool:
    """Whether a statement reads a catalog table or view (pg_class, pg_attribute, the
    information schemas); one that cannot be parsed counts as one."""
    try:
        tree = sqlglot.parse_one(statement, read=DIALECT)
    except SqlglotError:
        return True
    if tree is None:
        return False
    return any(
        table.db in CATALOG_SCHEMAS or (not table.db and table.name.startswith("pg_"))
        for table in tree.find_all(exp.Table)
    )
