"""PostgreSQL test databases and the one way the tests read a server: a fresh connection per
statement, closed at once (the TimescaleDB test server takes one connection at a time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import RowFactory, dict_row, tuple_row

from platform_assets.live.embedded import EmbeddedCluster

Query = str | sql.Composable


def _fetch(url: str, text: Query, params: tuple | None, row_factory: RowFactory) -> list:
    with psycopg.connect(url, autocommit=True, row_factory=row_factory) as conn:
        cursor = conn.execute(text, params)
        return cursor.fetchall() if cursor.description else []


def query(url: str, text: Query, params: tuple | None = None) -> list[dict]:
    """Rows of one statement as dicts."""
    return _fetch(url, text, params, dict_row)


@dataclass
class Server:
    """A server the tests talk to by URL."""

    url: str

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def query(self, text: Query, params: tuple | None = None) -> list[dict]:
        """Rows as dicts."""
        return query(self.url, text, params)

    def rows(self, text: Query, params: tuple | None = None) -> list[tuple]:
        """Rows as tuples."""
        return _fetch(self.url, text, params, tuple_row)

    def value(self, text: Query, params: tuple | None = None) -> Any:
        """The first column of the first row, None without rows."""
        rows = self.rows(text, params)
        return rows[0][0] if rows else None

    def partition_names(self, parent: str) -> list[str]:
        """The partitions attached to `parent` (a regclass text), by name."""
        return [
            name
            for (name,) in self.rows(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass ORDER BY 1",
                (parent,),
            )
        ]


@dataclass
class TestDatabase(Server):
    """A fresh database on the session's PostgreSQL cluster."""

    name: str
    cluster: EmbeddedCluster


@contextmanager
def empty_database(cluster: EmbeddedCluster, name: str) -> Iterator[TestDatabase]:
    """A database of this name, made empty for the block and dropped after it."""
    admin = cluster.url("postgres")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield TestDatabase(cluster.url(name), name, cluster)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)
