"""One connection per run: the schema lock, per-object transactions, and a record of the SQL run."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from platform_assets.live.snapshot import CatalogSnapshot, Key, Snapshots
from platform_assets.model.hazards import PlannedStatement

# Every schema-changing run takes this database-wide advisory lock.
SCHEMA_LOCK_KEY = zlib.crc32(b"platform_assets.schema") - 2**31

Query = str | sql.Composable


class CountingCursor(psycopg.Cursor):
    """Counts every statement sent over its connection (`Session.statements`): a check
    that read the catalog only through the snapshot can say so."""

    def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
        self.connection.platform_statements += 1  # ty: ignore[unresolved-attribute]
        return super().execute(query, params, **kwargs)


class Session:
    """Runs an object's statements in one transaction and records what it executed.

    The connection is in autocommit mode: `transaction()` opens real transactions,
    and what the server forbids inside one (refreshing an aggregate) runs outside.
    """

    def __init__(self, conn: psycopg.Connection, log: Callable[[str], None] | None = None):
        self.conn = conn
        conn.platform_statements = 0  # ty: ignore[unresolved-attribute]
        conn.cursor_factory = CountingCursor
        self.log = log or (lambda message: None)
        # Of `statements`, those no check result follows from beyond what the snapshot
        # holds: a transaction's settings, a report, the server's rendering of an
        # expression over columns the snapshot read (execute/fingerprints.py).
        self.neutral_statements = 0
        self._in_neutral = False
        self.executed: list[PlannedStatement] = []
        # Planning: everything runs in a transaction that is rolled back, and what
        # must run after a commit is recorded, not run (set by the runner only).
        self.dry_run = False
        # (lock_timeout, statement_timeout) for a statement, set before it runs.
        self.timeouts: Callable[[PlannedStatement], tuple[str, str]] | None = None
        # The live catalog, read once per search_path; a runner narrows it to its
        # graph's schemas.
        self.snapshots = Snapshots(self)
        self._search_paths: list[tuple[str, ...]] = []  # of the open transactions
        # The objects the statements being run change (None: any object).
        self._changing: frozenset[Key] | None = None

    @property
    def statements(self) -> int:
        """Statements sent over the connection so far, catalog reads included."""
        return self.conn.platform_statements  # ty: ignore[unresolved-attribute]

    @contextmanager
    def neutral(self) -> Iterator[None]:
        """Statements inside are `neutral_statements` (the snapshot's reads apart); a
        block inside another is counted by the outer one alone."""
        if self._in_neutral:
            yield
            return
        statements, reads = self.statements, self.snapshots.queries
        self._in_neutral = True
        try:
            yield
        finally:
            self._in_neutral = False
            self.neutral_statements += (self.statements - statements) - (
                self.snapshots.queries - reads
            )

    @functools.cached_property
    def current_role(self) -> tuple[str, bool]:
        """The role statements run as, and whether it is a superuser (read once: a run
        does not change roles; neutral: a fingerprint's context holds it)."""
        with self.neutral():
            row = self.rows(
                "SELECT current_user AS name, rolsuper AS superuser FROM pg_roles "
                "WHERE rolname = current_user"
            )[0]
        return row["name"], bool(row["superuser"])

    def rows(self, query: Query, params: Sequence[Any] | dict | None = None) -> list[dict]:
        """Rows of a catalog query, as dicts."""
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []

    def value(self, query: Query, params: Sequence[Any] | dict | None = None) -> Any:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            row = cur.fetchone()
            return row[0] if row else None

    def execute(
        self, query: Query | PlannedStatement, params: Sequence[Any] | dict | None = None
    ) -> None:
        """Run a statement that changes the database, and record it with its lock level
        and hazards (a bare query takes no lock others would notice)."""
        statement = query if isinstance(query, PlannedStatement) else PlannedStatement(query)
        if self.timeouts is not None:
            self.conn.execute(
                "SELECT set_config('lock_timeout', %s, false), "
                "set_config('statement_timeout', %s, false)",
                self.timeouts(statement),
            )
        try:
            self.conn.execute(statement.sql, params)
        finally:  # even a failed statement may have changed what its transaction sees
            self.snapshots.forget(self._changing)
        self.executed.append(replace(statement, sql=statement.text(self.conn)))

    def execute_after_commit(self, statement: PlannedStatement) -> None:
        """Run a statement PostgreSQL forbids inside a transaction (or record it, when planning)."""
        statement = replace(statement, outside_transaction=True)
        if self.dry_run:
            self.executed.append(replace(statement, sql=statement.text(self.conn)))
        else:
            self.execute(statement)

    @contextmanager
    def changing(self, keys: Iterable[Key] | None) -> Iterator[None]:
        """Statements run inside change these objects (schema, name) only, so only their
        catalog entries are read again (None: any object, the whole catalog is)."""
        outer = self._changing
        self._changing = frozenset(keys) if keys is not None else None
        try:
            yield
        except BaseException:  # rolled back: what was read inside may be gone
            self.snapshots.forget(self._changing)
            raise
        finally:
            self._changing = outer

    @contextmanager
    def transaction(
        self, search_path: Sequence[str] = (), settings: Sequence[tuple[str, str]] = ()
    ) -> Iterator[None]:
        """One transaction; `search_path` and the file's session `settings` (name, value)
        are set for it alone (as SET LOCAL does), as the file declared them, in one
        statement: a pg_dump file declares about ten."""
        with self.conn.transaction():
            assignments = list(settings)
            if search_path:
                path = ", ".join(sql.Identifier(s).as_string(self.conn) for s in search_path)
                assignments.insert(0, ("search_path", path))
            if assignments:
                with self.neutral():
                    self._assign(assignments)
            self._search_paths.append(tuple(search_path) or self._search_path())
            try:
                yield
            finally:
                self._search_paths.pop()

    def _assign(self, assignments: list[tuple[str, str]]) -> None:
        """set_config(..., true) of each (name, value): SET LOCAL, in one statement."""
        self.conn.execute(
            sql.SQL("SELECT {}").format(
                sql.SQL(", ").join(
                    sql.SQL("set_config({}, {}, true)").format(
                        sql.Literal(name), sql.Literal(value)
                    )
                    for name, value in assignments
                )
            )
        )

    def _search_path(self) -> tuple[str, ...]:
        return self._search_paths[-1] if self._search_paths else ()

    @property
    def snapshot(self) -> CatalogSnapshot:
        """The catalog as the statements being run see it (their search_path's rendering)."""
        return self.snapshots.under(self._search_path())

    def take_executed(self) -> list[PlannedStatement]:
        executed, self.executed = self.executed, []
        return executed

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Hold the database-wide schema lock; wait (and say so) if another run has it."""
        if not self.value("SELECT pg_try_advisory_lock(%s)", (SCHEMA_LOCK_KEY,)):
            unsigned = SCHEMA_LOCK_KEY & 0xFFFFFFFFFFFFFFFF
            holder = self.value(
                # Advisory locks are per database: another database's holder is not ours.
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = %s::oid AND objid = %s::oid",
                (unsigned >> 32, unsigned & 0xFFFFFFFF),
            )
            self.log(
                "waiting for the schema lock: another run is changing this database"
                + (f" (backend pid {holder})" if holder else "")
            )
            self.conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
            self.log("schema lock acquired")
        try:
            yield
        finally:
            if not self.conn.closed and not self.conn.broken:
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
