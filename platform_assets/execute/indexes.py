"""Index builds that keep a table writable (LOCKS.md: CREATE INDEX, replace an index).

On a table that holds rows a plain CREATE INDEX blocks every write for the whole
build, so the index is built `CONCURRENTLY`, after the object's transaction (the
server refuses it inside one). A natively partitioned table gets the index `ON
ONLY` the parent, then one built concurrently on each partition and attached. A
changed index is built beside the old one under a temporary name, the old one is
dropped concurrently, and the new one renamed (which takes only SHARE UPDATE
EXCLUSIVE). A failed or cancelled concurrent build leaves an INVALID index that
still slows every write: it is found by inspection, dropped and built again, never
accepted (IF NOT EXISTS would). Every step is safe to interrupt: the next run
finds what is left by inspection and completes it.

An empty table keeps the plain build in the object's transaction: nothing waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from sqlglot import exp

from platform_assets.live.session import Session
from platform_assets.model.hazards import (
    Hazard,
    LockLevel,
    PlannedStatement,
    drop_index_concurrently,
    planned,
)
from platform_assets.model.objects import SchemaObject
from platform_assets.parse.dialect import DIALECT

TEMPORARY_SUFFIX = "_platform_new"
MAX_IDENTIFIER = 63

_PARTITIONS = """
SELECT c.relname::text FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
WHERE h.inhparent = to_regclass(%s) ORDER BY c.relname
"""


def temporary_name(index: SchemaObject) -> str:
    """The name a changed index is built under before it replaces the old one."""
    return f"{index.name[: MAX_IDENTIFIER - len(TEMPORARY_SUFFIX)]}{TEMPORARY_SUFFIX}"


@dataclass(frozen=True)
class LiveIndex:
    exists: bool
    invalid: bool  # left INVALID by a failed or cancelled concurrent build
    temporary_exists: bool  # a replacement's build, interrupted before its swap


def live_index(session: Session, index: SchemaObject) -> LiveIndex:
    """The index's state, from the run's catalog snapshot."""
    found = session.snapshot.index(index.schema, index.name)
    return LiveIndex(
        exists=session.snapshot.relkind(index.schema, index.name) is not None,
        invalid=found is not None and not found.valid,
        temporary_exists=session.snapshot.relkind(index.schema, temporary_name(index)) is not None,
    )


def rendered(
    index: SchemaObject,
    name: str,
    *,
    table: exp.Table | None = None,
    concurrently: bool = False,
    only: bool = False,
    per_chunk: bool = False,
) -> str:
    """The declared CREATE INDEX rendered from its tree under `name` (in the index's
    schema), on `table` when given, CONCURRENTLY or ON ONLY the parent; never IF NOT
    EXISTS, which would accept an INVALID index. `per_chunk`: TimescaleDB builds a
    hypertable's index one chunk per transaction (its CONCURRENTLY)."""
    tree = index.definition.tree.copy()
    target = tree.this
    target.set("this", exp.to_identifier(name, quoted=True))
    if table is not None:
        target.set("table", table)
    target.args["table"].set("only", only)
    tree.set("concurrently", concurrently)
    tree.set("exists", False)
    if per_chunk:
        params = target.args.get("params") or exp.IndexParameters()
        option = exp.Property(
            this=exp.Dot(
                this=exp.to_identifier("timescaledb"),
                expression=exp.to_identifier("transaction_per_chunk"),
            ),
            value=exp.true(),
        )
        params.set("with_storage", [*(params.args.get("with_storage") or []), option])
        target.set("params", params)
    return tree.sql(DIALECT)


def concurrent_build(index: SchemaObject, name: str) -> PlannedStatement:
    return planned(
        rendered(index, name, concurrently=True),
        LockLevel.SHARE_UPDATE_EXCLUSIVE,
        Hazard.INDEX_BUILD,
        outside_transaction=True,
    )


def rename(schema: str, old: str, new: str) -> PlannedStatement:
    return planned(
        sql.SQL("ALTER INDEX {} RENAME TO {}").format(
            sql.Identifier(schema, old), sql.Identifier(new)
        ),
        LockLevel.SHARE_UPDATE_EXCLUSIVE,
        outside_transaction=True,
    )


def partitioned_build(
    session: Session, index: SchemaObject, name: str
) -> tuple[PlannedStatement, list[PlannedStatement]]:
    """The index of a partitioned table: ON ONLY the parent (in the transaction; it is
    INVALID until every partition has its own), then per partition a concurrent build
    and ATTACH PARTITION (after commit)."""
    assert index.relation is not None
    parent = planned(rendered(index, name, only=True), LockLevel.SHARE, Hazard.INDEX_BUILD)
    relation = sql.Identifier(index.schema, index.relation).as_string(session.conn)
    later: list[PlannedStatement] = []
    for partition in [row["relname"] for row in session.rows(_PARTITIONS, (relation,))]:
        child = f"{partition}_{name}"[:MAX_IDENTIFIER]
        table = exp.to_table(f"{index.schema}.{partition}", dialect=DIALECT)
        table.set("this", exp.to_identifier(partition, quoted=True))
        table.set("db", exp.to_identifier(index.schema, quoted=True))
        later += [
            drop_index_concurrently(index.schema, child),
            planned(
                rendered(index, child, table=table, concurrently=True),
                LockLevel.SHARE_UPDATE_EXCLUSIVE,
                Hazard.INDEX_BUILD,
                outside_transaction=True,
            ),
            planned(
                sql.SQL("ALTER INDEX {} ATTACH PARTITION {}").format(
                    sql.Identifier(index.schema, name), sql.Identifier(index.schema, child)
                ),
                LockLevel.SHARE_UPDATE_EXCLUSIVE,
                outside_transaction=True,
            ),
        ]
    return parent, later
