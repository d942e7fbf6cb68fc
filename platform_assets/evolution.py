"""Declarative evolution: the difference between an existing object and its declaration.

For a table that exists, the live catalog is compared with the declared CREATE
TABLE (parsed with sqlglot; columns compared by columns.py, the same code the
`in_sync` check uses) and the difference becomes ALTER statements composed with
psycopg.sql. A change that can lose data (dropping a column, narrowing a type, a
type change that rewrites and can fail) is refused unless the object is allowed
destructive changes explicitly, with a message saying what would be lost.

Indexes, views and triggers whose definition changed are replaced in the
object's transaction. Objects that live in a declared schema but are no longer
declared are reported as orphans, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from platform_assets import partition_rules, rollups
from platform_assets.columns import ColumnComparison, compare_columns
from platform_assets.dialect import DIALECT
from platform_assets.errors import SchemaError
from platform_assets.objects import ObjectKind, SchemaObject
from platform_assets.session import Session

SHADOW = "platform_declared_shadow"
SHADOW_CONSTRAINT = "platform_declared_shadow_constraint"


def _create_shadow(session: Session, schema: str, relation: str | None) -> None:
    """A temporary copy of a table's columns, to build a declared index or trigger on
    and read back as the server renders it (inside a rolled-back transaction)."""
    session.conn.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {})").format(
            sql.Identifier(SHADOW), sql.Identifier(schema, relation)
        )
    )


def allow_hint(obj: SchemaObject) -> str:
    key = "/".join(obj.key)
    return (
        f'to allow it, run with config {{"ops": {{"schema_objects": {{"config": '
        f'{{"allow_destructive": ["{key}"]}}}}}}}} (platform plan --allow-destructive {key})'
    )


@dataclass
class Change:
    """Statements that bring one aspect of an object to its declaration."""

    statements: list[sql.Composable]
    # What would be lost, when the change is destructive.
    loss: str | None = None


# -- columns ------------------------------------------------------------------------


def column_changes(table: SchemaObject, session: Session) -> list[Change]:
    """ALTERs that bring the live columns to the declared ones, in a safe order:
    drop, change type, add, then defaults and NOT NULL."""
    comparison = compare_columns(table, session)
    if comparison is None or comparison.same:
        return []
    relation = sql.Identifier(table.schema, table.name)
    drops, types, adds, defaults, nullability = [], [], [], [], []
    for name in comparison.extra:
        total, values = _counts(session, relation, name)
        drops.append(
            Change(
                [sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(relation, sql.Identifier(name))],
                f"dropping column {name} loses its {values} non-null value(s) "
                f"({total} row(s) in the table)",
            )
        )
    for name in comparison.missing:
        adds.append(_add_column(table, session, comparison, name))
    for name in comparison.changed:
        live, declared = comparison.comparable(name)
        column = sql.Identifier(name)
        if live.identity != declared.identity:
            raise SchemaError(
                f"column {name}: changing an identity column ({live.describe()} -> "
                f"{declared.describe()}) is not applied automatically; change it by hand",
                table.location,
                table.describe(),
            )
        if live.type != declared.type:
            types.append(_type_change(table, session, comparison, name))
        if live.default != declared.default:
            default = _declared_default(comparison, name)
            defaults.append(
                Change(
                    [
                        sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
                            relation, column, sql.SQL(default)
                        )
                        if default
                        else sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(
                            relation, column
                        )
                    ]
                )
            )
        if declared.not_null and not live.not_null:
            nulls = session.value(
                sql.SQL("SELECT count(*) FROM {} WHERE {} IS NULL").format(relation, column)
            )
            if nulls:
                raise SchemaError(
                    f"cannot make column {name} NOT NULL: {nulls} row(s) hold NULL in it; "
                    "fill them (UPDATE ... SET ... WHERE ... IS NULL) before materializing",
                    table.location,
                    table.describe(),
                )
            nullability.append(
                Change(
                    [
                        sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL").format(
                            relation, column
                        )
                    ]
                )
            )
        elif live.not_null and not declared.not_null:
            nullability.append(
                Change(
                    [
                        sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL").format(
                            relation, column
                        )
                    ]
                )
            )
    return drops + types + adds + defaults + nullability


def refuse_destructive(obj: SchemaObject, changes: list[Change], allowed: bool) -> list[str]:
    """Raise unless allowed; return what the allowed destructive changes lose."""
    losses = [c.loss for c in changes if c.loss]
    if losses and not allowed:
        raise SchemaError(
            "refused destructive change(s): " + "; ".join(losses) + "; " + allow_hint(obj),
            obj.location,
            obj.describe(),
        )
    return losses


def _counts(session: Session, relation: sql.Identifier, column: str) -> tuple[int, int]:
    row = session.rows(
        sql.SQL("SELECT count(*) AS total, count({}) AS present FROM {}").format(
            sql.Identifier(column), relation
        )
    )[0]
    return row["total"], row["present"]


def _add_column(
    table: SchemaObject, session: Session, comparison: ColumnComparison, name: str
) -> Change:
    declared = comparison.declared[name]
    relation = sql.Identifier(table.schema, table.name)
    if declared.not_null and declared.default is None and not declared.identity:
        rows = session.value(sql.SQL("SELECT count(*) FROM {}").format(relation))
        if rows:
            raise SchemaError(
                f"cannot add column {name} NOT NULL without a default: the table has {rows} "
                "row(s); declare a DEFAULT, or add it nullable, fill it, then declare NOT NULL",
                table.location,
                table.describe(),
            )
    # The column as written, every inline constraint included (rendered from its tree).
    definition = comparison.written[name].sql(DIALECT)
    return Change([sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(relation, sql.SQL(definition))])


def _declared_default(comparison: ColumnComparison, name: str) -> str | None:
    """The default as written when there is one (rendered from its tree), else as the
    server renders the declaration (a serial's sequence)."""
    written = comparison.written.get(name)
    for constraint in (written.args.get("constraints") or []) if written else []:
        if isinstance(constraint.kind, exp.DefaultColumnConstraint):
            return constraint.kind.this.sql(DIALECT)
    return comparison.declared[name].default


def _type_change(
    table: SchemaObject, session: Session, comparison: ColumnComparison, name: str
) -> Change:
    old, new = comparison.live[name].type, comparison.declared[name].type
    relation = sql.Identifier(table.schema, table.name)
    statement = sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {}").format(
        relation, sql.Identifier(name), sql.SQL(new)
    )
    if is_widening(old, new):
        return Change([statement])
    return Change(
        [statement],
        f"changing column {name} from {old} to {new}: "
        + _type_loss(session, relation, name, old, new),
    )


def _type_loss(session: Session, relation: sql.Identifier, column: str, old: str, new: str) -> str:
    """How many values the conversion would change, or the server's reason it fails."""
    ident = sql.Identifier(column)
    query = sql.SQL(
        "SELECT count({c}) AS present, "
        "count(*) FILTER (WHERE CAST(CAST({c} AS {new}) AS {old}) IS DISTINCT FROM {c}) AS changed "
        "FROM {t}"
    ).format(c=ident, new=sql.SQL(new), old=sql.SQL(old), t=relation)
    try:
        with session.conn.transaction():  # a savepoint: a failing cast must not abort the object
            row = session.rows(query)[0]
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0]
        return f"the conversion fails on existing rows ({first_line})"
    return (
        f"{row['changed']} of {row['present']} non-null value(s) would be changed or "
        "fail to convert; the table is rewritten"
    )


_INTEGER_RANK = {exp.DType.SMALLINT: 1, exp.DType.INT: 2, exp.DType.BIGINT: 3}
_TEXT = {exp.DType.VARCHAR, exp.DType.TEXT}


def _data_type(text: str) -> exp.DataType | None:
    try:
        cast = sqlglot.parse_one(f"CAST(NULL AS {text})", read=DIALECT)
    except ParseError:
        return None
    return cast.to if isinstance(cast, exp.Cast) else None


def _params(data_type: exp.DataType) -> list[int]:
    return [int(p.name) for p in data_type.expressions if p.name.isdigit()]


def is_widening(old_text: str, new_text: str) -> bool:
    """A type change that keeps every value exactly and cannot fail."""
    old, new = _data_type(old_text), _data_type(new_text)
    if old is None or new is None:
        return False
    if old.this in _INTEGER_RANK and new.this in _INTEGER_RANK:
        return _INTEGER_RANK[new.this] >= _INTEGER_RANK[old.this]
    if old.this in _TEXT and new.this in _TEXT:
        old_length, new_length = _params(old), _params(new)
        if new.this == exp.DType.TEXT or not new_length:
            return True  # unbounded
        return bool(old_length) and old.this == exp.DType.VARCHAR and new_length >= old_length
    if old.this == exp.DType.DECIMAL and new.this == exp.DType.DECIMAL:
        old_params, new_params = _params(old), _params(new)
        if not new_params:
            return True
        if not old_params:
            return False
        old_scale = old_params[1] if len(old_params) > 1 else 0
        new_scale = new_params[1] if len(new_params) > 1 else 0
        # Neither the integer digits nor the scale may shrink.
        return new_scale >= old_scale and new_params[0] - new_scale >= old_params[0] - old_scale
    return old.this == exp.DType.FLOAT and new.this == exp.DType.DOUBLE


# -- the server's rendering of expressions, without DDL -----------------------------


def server_expressions(
    session: Session, relation: sql.Identifier, expressions: list[str]
) -> list[str] | None:
    """Expressions over a table's columns as the server deparses them after parsing
    and constant folding (`a IN ('x')` is `(a = ANY ('{x}'::text[]))`): read from
    EXPLAIN, so equal meaning is equal text and no DDL runs (a second
    materialization executes none). None when the server rejects one."""
    if not expressions:
        return []
    query = sql.SQL("EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) SELECT {} FROM ONLY {}").format(
        sql.SQL(", ").join(sql.SQL(e) for e in expressions), relation
    )
    try:
        with session.conn.transaction():  # a savepoint: an error must not abort the object
            plan = session.value(query)
    except psycopg.Error:
        return None
    output = plan[0]["Plan"].get("Output") if plan else None
    return list(output) if output and len(output) == len(expressions) else None


# -- table constraints --------------------------------------------------------------

_CONTYPES = {
    exp.CheckColumnConstraint: "c",
    exp.ForeignKey: "f",
    exp.PrimaryKey: "p",
    exp.UniqueColumnConstraint: "u",
}


@dataclass
class DeclaredConstraint:
    name: str | None
    contype: str
    node: exp.Expr  # the table-level definition (CHECK (...), FOREIGN KEY ..., ...)
    columns: tuple[str, ...]
    referenced: str | None
    # Declared by an ALTER TABLE amendment: added as written by apply_amendments.
    amendment: bool = False

    @property
    def signature(self) -> tuple[str, tuple[str, ...], str | None]:
        return (self.contype, self.columns, self.referenced)


def declared_constraints(table: SchemaObject) -> list[DeclaredConstraint]:
    """Every constraint of the declaration: in CREATE TABLE (table and column level)
    and in its ALTER TABLE ... ADD CONSTRAINT amendments."""
    found: list[DeclaredConstraint] = []
    create = table.definition.tree
    schema = create.this if isinstance(create.this, exp.Schema) else None
    for item in schema.expressions if schema is not None else []:
        if isinstance(item, exp.ColumnDef):
            for constraint in item.args.get("constraints") or []:
                node = _column_level(item.name, constraint.kind)
                if node is not None:
                    name = constraint.this.name if constraint.this else None
                    found.append(_declared(name, node))
        elif isinstance(item, exp.Constraint) and item.expressions:
            found.append(_declared(item.name, item.expressions[0]))
        elif type(item) in _CONTYPES:
            found.append(_declared(None, item))
    for statement in table.statements[1:]:
        if not isinstance(statement.tree, exp.Alter):
            continue
        for action in statement.tree.args.get("actions") or []:
            if not isinstance(action, exp.AddConstraint):
                continue
            for item in action.expressions:
                if isinstance(item, exp.Constraint) and item.expressions:
                    found.append(_declared(item.name, item.expressions[0], amendment=True))
                elif type(item) in _CONTYPES:
                    found.append(_declared(None, item, amendment=True))
    return [c for c in found if c.contype]


def _column_level(column: str, kind: exp.Expr) -> exp.Expr | None:
    """A column constraint as the equivalent table constraint."""
    ident = exp.to_identifier(column)
    if isinstance(kind, exp.CheckColumnConstraint):
        return kind.copy()
    if isinstance(kind, exp.PrimaryKeyColumnConstraint):
        return exp.PrimaryKey(expressions=[ident])
    if isinstance(kind, exp.UniqueColumnConstraint):
        return exp.UniqueColumnConstraint(this=exp.Schema(expressions=[ident]))
    if isinstance(kind, exp.Reference):
        return exp.ForeignKey(expressions=[ident], reference=kind.copy())
    return None


def _declared(name: str | None, node: exp.Expr, amendment: bool = False) -> DeclaredConstraint:
    contype = _CONTYPES.get(type(node), "")
    referenced = None
    if isinstance(node, exp.CheckColumnConstraint):
        columns = {c.name for c in node.find_all(exp.Column)}
    elif isinstance(node, exp.ForeignKey):
        columns = {c.name for c in node.expressions}
        reference = node.args.get("reference")
        target = reference.find(exp.Table) if reference else None
        referenced = target.name if target else None
    elif isinstance(node, exp.UniqueColumnConstraint):
        target_columns = node.this.expressions if isinstance(node.this, exp.Schema) else []
        columns = {c.name for c in target_columns}
    else:
        columns = {c.name for c in node.expressions}
    return DeclaredConstraint(
        name, contype, node, tuple(sorted(columns)), referenced, amendment=amendment
    )


def _live_constraints(session: Session, table: SchemaObject) -> list[dict]:
    return session.rows(
        "SELECT con.conname, con.contype::text AS contype, "
        "pg_get_constraintdef(con.oid) AS definition, "
        "pg_get_expr(con.conbin, con.conrelid) AS expression, "
        "ARRAY(SELECT a.attname::text FROM unnest(con.conkey) k JOIN pg_attribute a "
        "ON a.attrelid = con.conrelid AND a.attnum = k ORDER BY 1) AS columns, "
        "(SELECT r.relname::text FROM pg_class r WHERE r.oid = con.confrelid) AS referenced "
        "FROM pg_constraint con WHERE con.conrelid = to_regclass(%s) "
        "AND con.contype IN ('c', 'f', 'p', 'u') AND con.conislocal",
        (sql.Identifier(table.schema, table.name).as_string(session.conn),),
    )


def constraint_changes(table: SchemaObject, session: Session) -> list[Change]:
    """Constraints added to, changed in or removed from the declaration (the table's
    columns already match it). Removing a constraint loses no data: not destructive."""
    relation = sql.Identifier(table.schema, table.name)
    partitioned = (
        session.value(
            "SELECT relkind::text FROM pg_class WHERE oid = to_regclass(%s)",
            (relation.as_string(session.conn),),
        )
        == "p"
    )
    live = {row["conname"]: row for row in _live_constraints(session, table)}
    declared = declared_constraints(table)
    matched: set[str] = set()
    drops: list[Change] = []
    adds: list[Change] = []
    unnamed = []
    for constraint in declared:
        if constraint.name is None:
            unnamed.append(constraint)
            continue
        row = live.get(constraint.name)
        if row is None:
            if not constraint.amendment:  # an amendment runs as written (apply_amendments)
                adds.append(_add_constraint(relation, constraint, partitioned))
            continue
        matched.add(constraint.name)
        if not _same_constraint(session, table, constraint, row):
            drops.append(_drop_constraint(relation, constraint.name))
            adds.append(_add_constraint(relation, constraint, partitioned))
    # Unnamed constraints carry the server's generated names: matched by what they
    # constrain (kind, columns, referenced table), never by name.
    for constraint in unnamed:
        row = next(
            (
                r
                for name, r in live.items()
                if name not in matched
                and (r["contype"], tuple(r["columns"]), r["referenced"]) == constraint.signature
            ),
            None,
        )
        if row is None:
            adds.append(_add_constraint(relation, constraint, partitioned))
        else:
            matched.add(row["conname"])
    for name in live.keys() - matched:
        drops.append(_drop_constraint(relation, name))
    return drops + adds


def _drop_constraint(relation: sql.Identifier, name: str) -> Change:
    return Change(
        [sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(relation, sql.Identifier(name))]
    )


def _add_constraint(
    relation: sql.Identifier, constraint: DeclaredConstraint, partitioned: bool
) -> Change:
    definition = sql.SQL(constraint.node.sql(DIALECT))
    if constraint.name is None:
        return Change([sql.SQL("ALTER TABLE {} ADD {}").format(relation, definition)])
    name = sql.Identifier(constraint.name)
    add = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(relation, name, definition)
    # CHECK and FOREIGN KEY: added without scanning the table (a brief lock), then
    # validated, which scans without blocking writes. A partitioned table's foreign
    # key cannot be NOT VALID on this PostgreSQL.
    if constraint.contype == "c" or (constraint.contype == "f" and not partitioned):
        return Change(
            [
                sql.SQL("{} NOT VALID").format(add),
                sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(relation, name),
            ]
        )
    return Change([add])


def _same_constraint(
    session: Session, table: SchemaObject, constraint: DeclaredConstraint, row: dict
) -> bool:
    """Compare by sqlglot's normalized tree; a CHECK that differs there is compared
    as the server deparses both expressions (no DDL); a FOREIGN KEY by the server's
    rendering of the declaration, added NOT VALID (no scan) and rolled back."""
    live: str = row["definition"]
    live_tree = _constraint_tree(live)
    if live_tree is not None and live_tree == normalized(constraint.node):
        return True
    if constraint.contype != row["contype"] or constraint.contype not in ("c", "f"):
        return False
    relation = sql.Identifier(table.schema, table.name)
    if constraint.contype == "c":
        rendered = server_expressions(
            session, relation, [row["expression"], constraint.node.this.sql(DIALECT)]
        )
        return rendered is not None and rendered[0] == rendered[1]
    with session.conn.transaction(force_rollback=True):
        session.conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID").format(
                relation, sql.Identifier(SHADOW_CONSTRAINT), sql.SQL(constraint.node.sql(DIALECT))
            )
        )
        rendered = session.value(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND conname = %s",
            (relation.as_string(session.conn), SHADOW_CONSTRAINT),
        )
    return rendered.removesuffix(" NOT VALID") == live.removesuffix(" NOT VALID")


def _constraint_tree(definition: str) -> exp.Expr | None:
    try:
        tree = sqlglot.parse_one(f"ALTER TABLE x ADD CONSTRAINT n {definition}", read=DIALECT)
    except ParseError:
        return None
    actions = tree.args.get("actions") or [] if isinstance(tree, exp.Alter) else []
    items = actions[0].expressions if actions else []
    if not items or not isinstance(items[0], exp.Constraint) or not items[0].expressions:
        return None
    return normalized(items[0].expressions[0])


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


# -- indexes ------------------------------------------------------------------------


def index_changed(index: SchemaObject, session: Session) -> bool:
    """Whether the live index differs from its declaration: pg_get_indexdef against
    the declared CREATE INDEX, both normalized through sqlglot; when they differ, the
    declared index is built on an empty copy of the table (rolled back) so the server
    renders both sides."""
    assert index.relation is not None
    name = sql.Identifier(index.schema, index.name).as_string(session.conn)
    table = sql.Identifier(index.schema, index.relation)
    live_definition = session.value("SELECT pg_get_indexdef(to_regclass(%s))", (name,))
    live = _index_tree(live_definition, session, table)
    declared = index.definition.tree
    if live is None or not isinstance(declared, exp.Create):
        return False
    if live == _normalized_index(declared, session, table):
        return False
    with session.conn.transaction(force_rollback=True):
        _create_shadow(session, index.schema, index.relation)
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


def _index_tree(definition: str | None, session: Session, table: sql.Identifier) -> exp.Expr | None:
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


def _normalized_index(create: exp.Create, session: Session, table: sql.Identifier) -> exp.Expr:
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
    name = sql.Identifier(view.schema, view.name).as_string(session.conn)
    live_definition = session.value("SELECT pg_get_viewdef(to_regclass(%s))", (name,))
    live_columns = _relation_columns(session, name)
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
        declared_columns = _relation_columns(session, shadow_name)
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
    try:
        with session.conn.transaction():
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


def _relation_columns(session: Session, regclass: str) -> list[tuple[str, str]]:
    rows = session.rows(
        "SELECT attname::text, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (regclass,),
    )
    return [(r["attname"], r["type"]) for r in rows]


# -- triggers -----------------------------------------------------------------------


def trigger_changed(trigger: SchemaObject, session: Session) -> bool:
    """The live trigger against the declared one created on an empty copy of its
    table (rolled back): both rendered by pg_get_triggerdef, compared through sqlglot
    with the table left out."""
    assert trigger.relation is not None
    declared = trigger.definition.tree
    if not isinstance(declared, exp.Create):
        return False
    live = session.value(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "WHERE t.tgrelid = to_regclass(%s) AND t.tgname = %s AND NOT t.tgisinternal",
        (
            sql.Identifier(trigger.schema, trigger.relation).as_string(session.conn),
            trigger.name,
        ),
    )
    if _trigger_tree(live) == _trigger_tree(declared.sql(DIALECT)):
        return False
    with session.conn.transaction(force_rollback=True):
        _create_shadow(session, trigger.schema, trigger.relation)
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


# -- orphans ------------------------------------------------------------------------


@dataclass(frozen=True)
class Orphan:
    kind: str
    schema: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.kind} {self.schema}.{self.name}{extra}"


_RELKIND_NAMES = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}


def orphans(session: Session, graph: Iterable[SchemaObject], schemas: set[str]) -> list[Orphan]:
    """Tables, views, indexes (other than a constraint's) and functions that live in
    a declared schema but are declared nowhere. Reported, never dropped: they may
    hold data, or belong to something the platform does not own."""
    declared_relations: set[tuple[str, str]] = set()
    declared_functions: set[tuple[str, str]] = set()
    for obj in graph:
        if obj.kind == ObjectKind.FUNCTION:
            declared_functions.add((obj.schema, obj.name))
        elif obj.kind in (
            ObjectKind.TABLE,
            ObjectKind.VIEW,
            ObjectKind.MATERIALIZED_VIEW,
            ObjectKind.CONTINUOUS_AGGREGATE,
            ObjectKind.INDEX,
        ):
            declared_relations.add((obj.schema, obj.name))
            if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE:  # the platform's own index on it
                declared_relations.add((obj.schema, rollups.group_index_name(obj)))
        elif obj.kind == ObjectKind.HYPERTABLE and obj.relation:
            # create_hypertable's default index on the time column
            column = partition_rules.time_column(obj)
            declared_relations.add((obj.schema, f"{obj.relation}_{column}_idx"))
    if not schemas:
        return []
    rows = session.rows(
        """
        SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
               t.relname::text AS owner
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_index i ON i.indexrelid = c.oid
        LEFT JOIN pg_class t ON t.oid = i.indrelid
        WHERE n.nspname = ANY(%(schemas)s)
          AND c.relkind IN ('r', 'p', 'v', 'm', 'i', 'I')
          AND NOT c.relispartition
          AND NOT coalesce(t.relispartition, false)
          -- an index backing a constraint belongs to the constraint
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = c.oid
                          AND con.contype IN ('p', 'u', 'x'))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                          AND d.classid = 'pg_class'::regclass AND d.deptype = 'e')
        UNION ALL
        SELECT n.nspname::text, p.proname::text, 'f', NULL
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(schemas)s)
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid
                          AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e')
        ORDER BY 1, 2
        """,
        {"schemas": sorted(schemas)},
    )
    found = []
    for row in rows:
        key = (row["schema"], row["name"])
        if row["relkind"] == "f":
            if key not in declared_functions:
                found.append(Orphan("function", *key))
        elif key not in declared_relations:
            if row["relkind"] in ("i", "I"):
                found.append(Orphan("index", *key, f"on {row['owner']}"))
            else:
                rows_note = ""
                if row["relkind"] in ("r", "p"):
                    count = session.value(
                        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*key))
                    )
                    rows_note = f"{count} row(s)"
                found.append(Orphan(_RELKIND_NAMES[row["relkind"]], *key, rows_note))
    return found
