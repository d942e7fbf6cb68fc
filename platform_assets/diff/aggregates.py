"""A continuous aggregate (or its materialized-view form) whose query changed.

The live query is the server's own rendering (`view_definition` of
`timescaledb_information.continuous_aggregates`, or pg_get_viewdef of the
materialized view) and is compared with the declared one by their verbose plans:
the same query plans the same, and no DDL runs for an unchanged aggregate.

A changed aggregate is rebuilt under a new name, filled, then swapped in for the
old one in one transaction, so readers never see it empty. On TimescaleDB the old
aggregate may hold buckets whose raw rows retention has dropped: a rebuild cannot
recompute them, so it is refused (destructive) unless the aggregate is allowed
destructive changes, which drops and recreates it in place.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError

from platform_assets.live.session import Session
from platform_assets.live.snapshot import Key
from platform_assets.model.declarations import ContinuousAggregate
from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import SchemaObject
from platform_assets.parse.calls import query_bucket
from platform_assets.parse.dialect import DIALECT

REBUILD_SUFFIX = "__rebuild"
MAX_IDENTIFIER = 63
_EXPLAIN = "EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) "


def rebuild_name(aggregate: SchemaObject) -> str:
    """The name the changed aggregate is built under before the swap."""
    return aggregate.name[: MAX_IDENTIFIER - len(REBUILD_SUFFIX)] + REBUILD_SUFFIX


def live_query(session: Session, aggregate: SchemaObject, timescale: bool) -> str | None:
    """The live aggregate's query as the server renders it."""
    if timescale:
        rows = session.snapshot.timescale("continuous_aggregates", aggregate.schema, aggregate.name)
        return rows[0]["view_definition"] if rows else None
    relation = session.snapshot.relation(aggregate.schema, aggregate.name)
    return relation.view_definition if relation else None


def query_changed(
    session: Session, live: str, declared: exp.Query, sources: Iterable[Key] = ()
) -> bool:
    """Whether the declared query means something else than the live one: their
    verbose plans differ, or the declared one does not plan at all. `sources`: the
    relations the declared query reads, whose columns the plans follow from."""
    live_tree = _parsed(live)
    if live_tree is None:
        return True
    for schema, name in sources:  # what the comparison follows from, besides the texts
        session.snapshot.columns(schema, name)
    try:
        # Neutral, and a savepoint: an error must not abort the object.
        with session.neutral(), session.conn.transaction():
            live_plan = session.value(_EXPLAIN + live_tree.sql(DIALECT))
            declared_plan = session.value(_EXPLAIN + declared.sql(DIALECT))
    except psycopg.Error:
        return True
    return live_plan != declared_plan


def dependent_views(session: Session, aggregate: SchemaObject) -> list[str]:
    """Views and aggregates built on this one (a swap would have to rebuild them too)."""
    rows = session.rows(
        "SELECT DISTINCT n.nspname::text || '.' || c.relname::text AS name "
        "FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        "JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass(%s) "
        "AND r.ev_class <> d.refobjid ORDER BY 1",
        (sql.Identifier(aggregate.schema, aggregate.name).as_string(session.conn),),
    )
    return [row["name"] for row in rows]


def refuse_with_dependents(session: Session, aggregate: SchemaObject) -> None:
    dependents = dependent_views(session, aggregate)
    if dependents:
        raise SchemaError(
            f"its query changed, but {', '.join(dependents)} depend(s) on it: change or "
            "drop those first, then materialize again",
            aggregate.location,
            aggregate.describe(),
        )


def history_loss(session: Session, aggregate: SchemaObject, live: str) -> str | None:
    """What a rebuild from the raw rows cannot recompute: the live aggregate's rows
    before the first bucket the declared query finds in its source (retention
    dropped their raw rows). None when nothing would be lost."""
    declared = aggregate.definition.tree.expression
    old_bucket = query_bucket(_parsed(live))
    new_bucket = aggregate.declared(ContinuousAggregate).bucket
    if old_bucket is None or new_bucket is None:
        return None
    # time_bucket is monotonic: the first bucket is the bucket of the oldest row.
    first = declared.copy()
    first.set("group", None)
    first.set("having", None)
    first.set("order", None)
    width = exp.cast(exp.Literal.string(new_bucket.width), "interval")
    oldest = exp.Min(this=new_bucket.column.copy())
    first.set("expressions", [exp.Anonymous(this="time_bucket", expressions=[width, oldest])])
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} < coalesce(({}), 'infinity')").format(
        sql.Identifier(aggregate.schema, aggregate.name),
        sql.Identifier(old_bucket.alias),
        sql.SQL(first.sql(DIALECT)),
    )
    with session.conn.transaction():
        lost = session.value(query)
    if not lost:
        return None
    return (
        f"rebuilding {aggregate.qualified_name} from its raw rows loses {lost} aggregated "
        "row(s) older than the oldest raw row (retention dropped their source)"
    )


def _parsed(text: str | None) -> exp.Query | None:
    if not text:
        return None
    try:
        tree = sqlglot.parse_one(text.strip().rstrip(";"), read=DIALECT)
    except ParseError:
        return None
    return tree if isinstance(tree, exp.Query) else None
