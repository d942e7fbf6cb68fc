"""What a planned statement does to a database in use: its lock level and its hazards.

Every statement the platform runs carries these from where it is written (the
diff, an engine, or the parsed declaration) to the plan and the materialization
metadata; nothing guesses them back from SQL text. The vocabulary follows
LOCKS.md (and stripe/pg-schema-diff's hazard names).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from psycopg import sql
from sqlglot import exp


class LockLevel(StrEnum):
    """The strongest table lock a statement takes (PostgreSQL's names)."""

    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"  # blocks reads and writes
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"  # blocks writes
    SHARE = "SHARE"  # blocks writes
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"  # blocks neither
    NONE = "none"  # no lock on an existing relation that others use

    @property
    def blocks_writes(self) -> bool:
        return self in (LockLevel.ACCESS_EXCLUSIVE, LockLevel.SHARE_ROW_EXCLUSIVE, LockLevel.SHARE)


class Hazard(StrEnum):
    """What a statement can cost besides its lock."""

    DELETES_DATA = "deletes data"
    TABLE_REWRITE = "table rewrite"
    FULL_SCAN = "full scan"
    INDEX_BUILD = "index build"
    INDEX_DROPPED = "index dropped"


Query = str | sql.Composable


@dataclass(frozen=True)
class PlannedStatement:
    """One statement with what it locks and risks; `outside_transaction`: it runs after
    the object's transaction commits (the server forbids it inside one)."""

    sql: Query
    lock: LockLevel = LockLevel.NONE
    hazards: frozenset[Hazard] = frozenset()
    outside_transaction: bool = False
    # Why it takes a heavier lock than its online form would (shown by the plan).
    note: str | None = None

    @property
    def deletes_data(self) -> bool:
        return Hazard.DELETES_DATA in self.hazards

    def with_hazards(self, *hazards: Hazard) -> PlannedStatement:
        return replace(self, hazards=self.hazards | frozenset(hazards))

    def text(self, conn: object) -> str:
        """The statement as the server receives it (`conn` renders composed identifiers)."""
        return (self.sql if isinstance(self.sql, str) else self.sql.as_string(conn)).strip()


def planned(
    query: Query,
    lock: LockLevel = LockLevel.NONE,
    *hazards: Hazard,
    outside_transaction: bool = False,
) -> PlannedStatement:
    return PlannedStatement(query, lock, frozenset(hazards), outside_transaction)


def alter_table(query: Query, *hazards: Hazard) -> PlannedStatement:
    """An ALTER TABLE: ACCESS EXCLUSIVE, unless said otherwise."""
    return planned(query, LockLevel.ACCESS_EXCLUSIVE, *hazards)


# Functions whose call drops a hypertable's chunks.
_DATA_DROPPING_CALLS = frozenset({"drop_chunks", "detach_chunk"})
# TimescaleDB calls that lock the hypertable (LOCKS.md): add_dimension takes SHARE UPDATE
# EXCLUSIVE; the policy calls, set_chunk_time_interval and alter_job touch catalog rows.
_LOCKING_CALLS = {"add_dimension": LockLevel.SHARE_UPDATE_EXCLUSIVE}
# Dropping these loses no stored rows.
_KINDS_WITHOUT_DATA = frozenset({"INDEX", "VIEW", "TRIGGER", "FUNCTION"})


def declared(text: str, tree: exp.Expr | None) -> PlannedStatement:
    """A statement of `sql/`, run as written: its effects read from its parsed tree."""
    lock, hazards = LockLevel.NONE, set[Hazard]()
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind == "INDEX":
            hazards.add(Hazard.INDEX_BUILD)
            concurrently = bool(tree.args.get("concurrently"))
            lock = LockLevel.SHARE_UPDATE_EXCLUSIVE if concurrently else LockLevel.SHARE
        elif kind == "TRIGGER":
            lock = LockLevel.SHARE_ROW_EXCLUSIVE
    elif isinstance(tree, exp.Alter):
        lock = LockLevel.ACCESS_EXCLUSIVE
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() != (
                "CONSTRAINT"
            ):
                hazards.add(Hazard.DELETES_DATA)
            if isinstance(action, exp.AddConstraint):
                hazards.add(Hazard.FULL_SCAN)
    elif isinstance(tree, exp.Drop):
        lock = LockLevel.ACCESS_EXCLUSIVE
        kind = (tree.args.get("kind") or "").upper()
        if kind == "INDEX":
            hazards.add(Hazard.INDEX_DROPPED)
        elif kind not in _KINDS_WITHOUT_DATA:
            hazards.add(Hazard.DELETES_DATA)
    elif isinstance(tree, exp.TruncateTable):
        lock = LockLevel.ACCESS_EXCLUSIVE
        hazards.add(Hazard.DELETES_DATA)
    calls = {call.name.lower() for call in tree.find_all(exp.Anonymous)} if tree else set()
    if calls & _DATA_DROPPING_CALLS:
        hazards.add(Hazard.DELETES_DATA)
    for name in calls & _LOCKING_CALLS.keys():
        lock = _LOCKING_CALLS[name] if lock == LockLevel.NONE else lock
    return PlannedStatement(text, lock, frozenset(hazards))


def index_build(query: Query) -> PlannedStatement:
    """A plain CREATE INDEX: writes wait for the whole build."""
    return planned(query, LockLevel.SHARE, Hazard.INDEX_BUILD)


def drop_index_concurrently(schema: str, name: str) -> PlannedStatement:
    """DROP INDEX CONCURRENTLY IF EXISTS: outside any transaction, blocking no query."""
    return planned(
        sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(schema, name)),
        LockLevel.SHARE_UPDATE_EXCLUSIVE,
        Hazard.INDEX_DROPPED,
        outside_transaction=True,
    )
