"""Declarations as the server renders them, for comparison with the live catalog."""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlglot import exp

from platform_assets.live.session import Session

SHADOW = "platform_declared_shadow"
SHADOW_CONSTRAINT = "platform_declared_shadow_constraint"


def create_shadow(session: Session, schema: str, relation: str | None) -> None:
    """A temporary copy of a table's columns, to build a declared index or trigger on
    and read back as the server renders it (inside a rolled-back transaction)."""
    session.conn.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {})").format(
            sql.Identifier(SHADOW), sql.Identifier(schema, relation)
        )
    )


# -- the server's rendering of expressions, without DDL -----------------------------


def server_expressions(
    session: Session, relation: tuple[str, str], expressions: list[str]
) -> list[str] | None:
    """Expressions over a table's (schema, name) columns as the server deparses them
    after parsing and constant folding (`a IN ('x')` is `(a = ANY ('{x}'::text[]))`):
    read from EXPLAIN, so equal meaning is equal text and no DDL runs (a second
    materialization executes none). None when the server rejects one."""
    if not expressions:
        return []
    query = sql.SQL("EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) SELECT {} FROM ONLY {}").format(
        sql.SQL(", ").join(sql.SQL(e) for e in expressions), sql.Identifier(*relation)
    )
    session.snapshot.columns(*relation)  # what the rendering follows from, besides the text
    try:
        with session.neutral(), session.conn.transaction():  # a savepoint: an error must
            plan = session.value(query)  # not abort the object
    except psycopg.Error:
        return None
    output = plan[0]["Plan"].get("Output") if plan else None
    return list(output) if output and len(output) == len(expressions) else None


def normalized(tree: exp.Expr) -> exp.Expr:
    """A tree for comparison: no redundant parentheses, identifiers folded as the
    server folds them and unquoted, relations without their schema."""

    def fold(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Paren):
            return node.this
        if isinstance(node, exp.Identifier):
            name = node.this if node.quoted else node.this.lower()
            return exp.Identifier(this=name, quoted=False)
        if isinstance(node, exp.Table):
            node = node.copy()
            node.set("db", None)
            node.set("catalog", None)
        return node

    return tree.copy().transform(fold)
