"""Indexes, views and triggers whose definition changed, found without DDL."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from platform_assets.diff.rendering import (
    SHADOW,
    create_shadow,
    normalized,
    server_expressions,
)
from platform_assets.live import catalog
from platform_assets.live.session import Session
from platform_assets.model.objects import SchemaObject
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import name_identifier

# -- indexes ------------------------------------------------------------------------


def index_changed(index: SchemaObject, session: Session) -> bool:
    """Whether the live index differs from its declaration: pg_get_indexdef against
    the declared CREATE INDEX, both normalized through sqlglot; when they differ, the
    declared index is built on an empty copy of the table (rolled back) so the server
    renders both sides."""
    assert index.relation is not None
    table = (index.schema, index.relation)
    found = session.snapshot.index(index.schema, index.name)
    live = _index_tree(found.definition if found else None, session, table)
    declared = index.definition.tree
    if live is None or not isinstance(declared, exp.Create):
        return False
    if not declared.this.name:  # `CREATE INDEX ON t (...)`: the name PostgreSQL gave it
        declared = declared.copy()
        declared.this.set("this", name_identifier(index.name))
    if live == _normalized_index(declared, session, table):
        return False
    with session.conn.transaction(force_rollback=True):
        create_shadow(session, index.schema, index.relation)
        shadow = declared.copy()
        shadow.this.set("table", exp.to_table(f"pg_temp.{SHADOW}"))
        shadow.set("exists", False)
        shadow.set("concurrently", False)
        session.conn.execute(shadow.sql(DIALECT))
        rendered = session.value(
            "SELECT pg_get_indexdef(to_regclass(%s))",
            (sql.SQL("pg_temp.{}").format(sql.Identifier(index.name)).as_string(session.conn),),
        )
    return _index_tree(rendered, session, table) != live


def _index_tree(
    definition: str | None, session: Session, table: tuple[str, str]
) -> exp.Expr | None:
    """pg_get_indexdef output as a normalized tree (`ON ONLY` of a partitioned
    table's index dropped, by token, since sqlglot does not parse it)."""
    if not definition:
        return None
    text = definition
    for token in sqlglot.tokenize(definition, read=DIALECT):
        if token.token_type == TokenType.ONLY:
            text = definition[: token.start] + definition[token.end + 1 :]
            break
    try:
        tree = sqlglot.parse_one(text, read=DIALECT)
    except ParseError:
        return None
    return _normalized_index(tree, session, table) if isinstance(tree, exp.Create) else None


def _normalized_index(create: exp.Create, session: Session, table: tuple[str, str]) -> exp.Expr:
    """Structure through sqlglot; key expressions and the predicate as the server
    deparses them (server_expressions), so added casts and parentheses compare equal."""
    tree = create.copy()
    tree.set("exists", False)
    tree.set("concurrently", False)
    index = tree.this
    if isinstance(index, exp.Index):
        index.set("table", exp.to_table("t"))  # compared on the same table anyway
        params = index.args.get("params")
        if isinstance(params, exp.IndexParameters) and not params.args.get("using"):
            params.set("using", exp.Var(this="btree"))
        if isinstance(params, exp.IndexParameters):
            using = params.args.get("using")
            if using is not None:
                params.set("using", exp.Var(this=using.name.lower()))
            nodes: list[exp.Expr] = [
                o.this
                for o in params.args.get("columns") or []
                if isinstance(o, exp.Ordered) and not isinstance(o.this, exp.Column)
            ]
            where = params.args.get("where")
            if isinstance(where, exp.Where):
                nodes.append(where.this)
            rendered = server_expressions(session, table, [n.sql(DIALECT) for n in nodes])
            for node, text in zip(nodes, rendered or [], strict=False):
                node.replace(exp.Literal.string(text))
    return normalized(tree)


# -- views --------------------------------------------------------------------------


@dataclass
class ViewChange:
    replace: bool  # CREATE OR REPLACE suffices (the live columns are kept, in order)


def view_change(view: SchemaObject, session: Session) -> ViewChange | None:
    """Whether the live view's query differs from the declared one, as the server
    renders both (the declaration as a temporary view, rolled back)."""
    declared = view.definition.tree
    if not isinstance(declared, exp.Create):
        return None
    relation = session.snapshot.relation(view.schema, view.name)
    live_definition = relation.view_definition if relation else None
    live_columns = [(c.name, c.type) for c in session.snapshot.columns(view.schema, view.name)]
    if _same_view_plan(session, view, declared, [column for column, _ in live_columns]):
        return None
    with session.conn.transaction(force_rollback=True):
        shadow = declared.copy()
        target = shadow.this
        shadow_table = exp.to_table(SHADOW)
        if isinstance(target, exp.Schema):
            target.set("this", shadow_table)
        else:
            shadow.set("this", shadow_table)
        shadow.set("replace", False)
        properties = shadow.args.get("properties") or exp.Properties(expressions=[])
        properties.append("expressions", exp.TemporaryProperty())
        shadow.set("properties", properties)
        session.conn.execute(shadow.sql(DIALECT))
        shadow_name = sql.SQL("pg_temp.{}").format(sql.Identifier(SHADOW)).as_string(session.conn)
        declared_definition = session.value(
            "SELECT pg_get_viewdef(to_regclass(%s))", (shadow_name,)
        )
        declared_columns = [(c.name, c.type) for c in catalog.temporary_columns(session, SHADOW)]
    if declared_definition == live_definition and declared_columns == live_columns:
        return None
    # CREATE OR REPLACE VIEW keeps existing columns (same names, types, order) and
    # may only add new ones at the end.
    return ViewChange(replace=declared_columns[: len(live_columns)] == live_columns)


def _same_view_plan(
    session: Session, view: SchemaObject, declared: exp.Create, live_columns: list[str]
) -> bool:
    """No DDL for an unchanged view: the planner expands the view into its query, so
    the same query (as a subquery of the view's name) has the same verbose plan."""
    query = declared.expression
    target = declared.this
    names = (
        [c.name for c in target.expressions]
        if isinstance(target, exp.Schema) and target.expressions
        else list(query.named_selects)
        if isinstance(query, exp.Query)
        else []
    )
    if names != live_columns or not isinstance(query, exp.Query):
        return False
    explain = "EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) "
    # What the plans follow from besides the declared text: the live view as the server
    # keeps it (its definition renders the relations it reads as they now are).
    session.snapshot.relation(view.schema, view.name)
    session.snapshot.columns(view.schema, view.name)
    try:
        with session.neutral(), session.conn.transaction():
            live = session.value(
                sql.SQL(explain + "SELECT * FROM {}").format(sql.Identifier(view.schema, view.name))
            )
            wrapped = sql.SQL(explain + "SELECT * FROM ({}) AS {}").format(
                sql.SQL(query.sql(DIALECT)), sql.Identifier(view.name)
            )
            declared_plan = session.value(wrapped)
    except psycopg.Error:
        return False
    return live == declared_plan


# -- triggers -----------------------------------------------------------------------


def trigger_changed(trigger: SchemaObject, session: Session) -> bool:
    """The live trigger against the declared one created on an empty copy of its
    table (rolled back): both rendered by pg_get_triggerdef, compared through sqlglot
    with the table left out."""
    assert trigger.relation is not None
    declared = trigger.definition.tree
    if not isinstance(declared, exp.Create):
        return False
    live = session.snapshot.trigger_definition(trigger.schema, trigger.relation, trigger.name)
    if _trigger_tree(live) == _trigger_tree(declared.sql(DIALECT)):
        return False
    with session.conn.transaction(force_rollback=True):
        create_shadow(session, trigger.schema, trigger.relation)
        shadow = declared.copy()
        for props in shadow.find_all(exp.TriggerProperties):
            props.set("table", exp.to_table(f"pg_temp.{SHADOW}"))
        session.conn.execute(shadow.sql(DIALECT))
        rendered = session.value(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "WHERE t.tgrelid = to_regclass(%s) AND t.tgname = %s",
            (
                sql.SQL("pg_temp.{}").format(sql.Identifier(SHADOW)).as_string(session.conn),
                trigger.name,
            ),
        )
    return _trigger_tree(live) != _trigger_tree(rendered)


def _trigger_tree(definition: str | None) -> exp.Expr | None:
    if not definition:
        return None
    try:
        tree = sqlglot.parse_one(definition, read=DIALECT)
    except ParseError:
        return None
    for props in tree.find_all(exp.TriggerProperties):
        props.set("table", exp.to_table("t"))
        # The server lists events in its own order and names the function unqualified
        # when its schema is on the search path.
        events = props.args.get("events") or []
        props.set("events", sorted(events, key=lambda e: e.sql(DIALECT)))
        execute = props.args.get("execute")
        if execute is not None and isinstance(execute.this, exp.Dot):
            execute.set("this", execute.this.expression)
    return normalized(tree)
