"""Asset checks: does the live database still match what `sql/` declares?

`in_sync` runs on every asset. It asks the engine what it would execute for
the object (a dry run, rolled back: the same code a materialization runs) and,
for tables, compares the live columns with the declared ones as the server
itself renders them (a scratch copy of the declared columns, in the same
rolled-back transaction), so a column altered by hand shows up even where the
engine would not touch it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import dagster as dg
import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError

from platform_assets.compiler import SchemaGraph
from platform_assets.dialect import DIALECT
from platform_assets.engines.postgres import PostgresEngine
from platform_assets.errors import SchemaError
from platform_assets.health import CHECK_DESCRIPTIONS, health_checks
from platform_assets.objects import ObjectKind, SchemaObject
from platform_assets.session import Session

IN_SYNC = "in_sync"
SHADOW_TABLE = "platform_declared_shadow"


@dataclass(frozen=True)
class ColumnShape:
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str

    def describe(self) -> str:
        parts = [self.type, "NOT NULL" if self.not_null else "NULL"]
        if self.default:
            parts.append(f"DEFAULT {self.default}")
        if self.identity:
            parts.append("IDENTITY")
        return " ".join(parts)


def check_specs(obj: SchemaObject, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """`in_sync` on every asset, and the health checks (health.py) where they apply."""
    return [
        dg.AssetCheckSpec(
            name=IN_SYNC,
            asset=asset_key,
            description="The live database matches the declaration (no pending change, no "
            "hand-made difference).",
        ),
        *(
            dg.AssetCheckSpec(name=name, asset=asset_key, description=CHECK_DESCRIPTIONS[name])
            for name in health_checks(obj)
        ),
    ]


def evaluate_in_sync(
    obj: SchemaObject,
    graph: SchemaGraph,
    engine: PostgresEngine,
    session: Session,
    asset_key: dg.AssetKey,
) -> dg.AssetCheckResult:
    pending: list[str] = []
    differences: list[str] = []
    session.dry_run = True
    try:
        with session.conn.transaction(force_rollback=True):
            if obj.kind == ObjectKind.TABLE:
                differences = column_differences(obj, session)
            try:
                outcome = engine.apply(obj, session)
                pending = outcome.executed
                not_applicable = outcome.reason
            except SchemaError as error:
                differences.append(f"applying it would fail: {error.message}")
                not_applicable = None
    finally:
        session.dry_run = False
    passed = not pending and not differences
    metadata: dict[str, object] = {
        "differences": dg.MetadataValue.json(differences),
        "pending_sql": dg.MetadataValue.md(
            "```sql\n" + "\n".join(s.rstrip(";") + ";" for s in pending) + "\n```"
            if pending
            else "(none)"
        ),
    }
    if not_applicable:
        metadata["engine_note"] = not_applicable
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=IN_SYNC,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if passed else "; ".join(differences + pending)[:1000],
        metadata=metadata,
    )


def column_differences(table: SchemaObject, session: Session) -> list[str]:
    """Declared vs live columns.

    Both sides are first compared as sqlglot spells them (no DDL: a healthy
    database is verified without touching it); only when that finds a difference
    are the declared columns rendered by the server itself, in a scratch table,
    so spellings sqlglot cannot equate (casts the server adds) are not reported.
    """
    live = _column_shapes(session, table.schema, table.name)
    if not live:
        return [f"table {table.qualified_name} does not exist"]
    columns = _declared_columns(table)
    if columns is None:  # CREATE TABLE ... PARTITION OF: columns come from the parent
        return []
    declared_spelling = _spelled(_declared_spelling(columns))
    if _same_shapes(
        declared_spelling, _spelled(live.values()), session, table.definition.search_path
    ):
        return []
    declared = _server_shapes(table, columns, session)
    comparable_live, comparable_declared = _spelled(live.values()), _spelled(declared.values())
    differences = []
    for name, shape in declared.items():
        if name not in live:
            differences.append(f"column {name} is declared but missing")
        elif comparable_live[name] != comparable_declared[name]:
            differences.append(
                f"column {name}: declared {shape.describe()}, live {live[name].describe()}"
            )
    for name in live.keys() - declared.keys():
        differences.append(f"column {name} exists but is not declared")
    return differences


def _declared_columns(table: SchemaObject) -> list[exp.ColumnDef] | None:
    """The declared columns with only what shapes a column (type, NOT NULL, default,
    identity); primary-key columns are marked NOT NULL, as the server makes them."""
    create = table.definition.tree
    schema = create.this if isinstance(create.this, exp.Schema) else None
    if schema is None:
        return None
    primary = {c.name for key in create.find_all(exp.PrimaryKey) for c in key.expressions}
    columns = []
    for column in schema.expressions:
        if not isinstance(column, exp.ColumnDef):
            continue
        constraints = column.args.get("constraints") or []
        kept = [c for c in constraints if isinstance(c.kind, _SHAPING_CONSTRAINTS)]
        in_key = column.name in primary or any(
            isinstance(c.kind, exp.PrimaryKeyColumnConstraint) for c in constraints
        )
        if in_key and not any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in kept):
            kept.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        columns.append(
            exp.ColumnDef(this=column.this, kind=column.args.get("kind"), constraints=kept)
        )
    return columns


_SHAPING_CONSTRAINTS = (
    exp.NotNullColumnConstraint,
    exp.DefaultColumnConstraint,
    exp.GeneratedAsIdentityColumnConstraint,
)


def _declared_spelling(columns: list[exp.ColumnDef]) -> list[ColumnShape]:
    shapes = []
    for column in columns:
        kinds = {type(c.kind): c.kind for c in column.args.get("constraints") or []}
        default = kinds.get(exp.DefaultColumnConstraint)
        identity = kinds.get(exp.GeneratedAsIdentityColumnConstraint)
        data_type = column.args.get("kind")
        type_text = data_type.sql(DIALECT) if data_type else ""
        shapes.append(
            ColumnShape(
                column.name,
                type_text,
                exp.NotNullColumnConstraint in kinds or identity is not None,
                default.this.sql(DIALECT) if default else None,
                ("a" if identity.this else "d") if identity else "",
            )
        )
    return shapes


_SERIALS = {"SMALLSERIAL": "SMALLINT", "SERIAL": "INT", "BIGSERIAL": "BIGINT"}


def _spelled(shapes) -> dict[str, ColumnShape]:
    """Shapes in sqlglot's spelling: types parsed and re-rendered, casts of literal
    defaults dropped, serial as its integer type with a sequence default."""
    spelled = {}
    for shape in shapes:
        type_text = _type_spelling(shape.type)
        default = _default_spelling(shape.default)
        not_null = shape.not_null
        if type_text in _SERIALS:
            type_text, default, not_null = _SERIALS[type_text], "nextval()", True
        spelled[shape.name] = ColumnShape(shape.name, type_text, not_null, default, shape.identity)
    return spelled


def _same_shapes(
    declared: dict[str, ColumnShape],
    live: dict[str, ColumnShape],
    session: Session,
    search_path: tuple[str, ...],
) -> bool:
    """Equal spellings, or constant defaults the server evaluates as equal
    (`'15 minutes'` is stored as `'00:15:00'::interval`): a SELECT, not DDL."""
    if declared.keys() != live.keys():
        return False
    for name, shape in declared.items():
        other = live[name]
        if shape == other:
            continue
        if replace(shape, default=other.default) != other or not (
            _is_constant(shape.default) and _is_constant(other.default)
        ):
            return False
        type_ = sql.SQL(shape.type)
        comparison = sql.SQL("SELECT CAST({} AS {}) IS NOT DISTINCT FROM CAST({} AS {})").format(
            sql.SQL(shape.default), type_, sql.SQL(other.default), type_
        )
        try:
            with session.transaction(search_path):
                if not session.value(comparison):
                    return False
        except psycopg.Error:  # not comparable as constants: let the server-rendered path decide
            return False
    return True


def _is_constant(default: str | None) -> bool:
    """A literal, possibly cast: safe to evaluate (no function is called)."""
    if default is None:
        return False
    tree = sqlglot.parse_one(default, read=DIALECT)
    return not any(
        isinstance(node, exp.Func) and not isinstance(node, exp.Cast) for node in tree.walk()
    )


def _type_spelling(type_text: str) -> str:
    try:
        data_type = sqlglot.parse_one(f"CAST(NULL AS {type_text})", read=DIALECT).to
    except ParseError:
        return type_text
    # A user type is shown qualified unless it is on the search path: compare by name.
    return data_type.sql(DIALECT).rsplit(".", 1)[-1]


def _default_spelling(default: str | None) -> str | None:
    if default is None:
        return None
    try:
        tree = sqlglot.parse_one(default, read=DIALECT)
    except ParseError:
        return default
    if isinstance(tree, exp.Anonymous) and tree.name.lower() == "nextval":
        return "nextval()"
    tree = tree.transform(
        lambda node: node.this if isinstance(node, exp.Cast) and node.this.is_string else node
    )
    return tree.sql(DIALECT)


def _server_shapes(
    table: SchemaObject, columns: list[exp.ColumnDef], session: Session
) -> dict[str, ColumnShape]:
    """Create the declared columns (and nothing else) as a scratch table, then read them
    back: the server's own rendering of what was declared."""
    body = ", ".join(c.sql(DIALECT) for c in columns)
    with session.conn.transaction(force_rollback=True):
        if table.definition.search_path:
            path = sql.SQL(", ").join(sql.Identifier(s) for s in table.definition.search_path)
            session.conn.execute(sql.SQL("SET LOCAL search_path TO {}, pg_temp").format(path))
        session.conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ({})").format(sql.Identifier(SHADOW_TABLE), sql.SQL(body))
        )
        return _column_shapes(session, None, SHADOW_TABLE)


def _column_shapes(session: Session, schema: str | None, table: str) -> dict[str, ColumnShape]:
    relation = (
        sql.Identifier(schema, table)
        if schema
        else sql.SQL("pg_temp.{}").format(sql.Identifier(table))
    )
    rows = session.rows(
        sql.SQL(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity "
            "FROM pg_attribute a LEFT JOIN pg_attrdef d "
            "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = to_regclass({}) AND a.attnum > 0 AND NOT a.attisdropped"
        ).format(sql.Literal(relation.as_string(session.conn)))
    )
    return {
        r["attname"]: ColumnShape(
            r["attname"], r["type"], r["attnotnull"], r["default"], r["identity"]
        )
        for r in rows
    }
