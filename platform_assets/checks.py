"""Asset checks: does the live database still match what `sql/` declares?

`in_sync` runs on every asset. It asks the engine what it would execute for
the object (a dry run, rolled back: the same code a materialization runs) and,
for tables, compares the live columns with the declared ones as the server
itself renders them (a scratch copy of the declared columns, in the same
rolled-back transaction), so a column altered by hand shows up even where the
engine would not touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError

from platform_assets.compiler import SchemaGraph
from platform_assets.dialect import DIALECT
from platform_assets.engines.postgres import PostgresEngine
from platform_assets.errors import SchemaError
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
    return [
        dg.AssetCheckSpec(
            name=IN_SYNC,
            asset=asset_key,
            description="The live database matches the declaration (no pending change, no "
            "hand-made difference).",
        )
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
    """Declared vs live columns, both as the server renders them."""
    live = _column_shapes(session, table.schema, table.name)
    if not live:
        return [f"table {table.qualified_name} does not exist"]
    declared = _declared_shapes(table, session)
    differences = []
    for name, shape in declared.items():
        if name not in live:
            differences.append(f"column {name} is declared but missing")
        elif live[name] != shape:
            differences.append(
                f"column {name}: declared {shape.describe()}, live {live[name].describe()}"
            )
    for name in live.keys() - declared.keys():
        differences.append(f"column {name} exists but is not declared")
    return differences


def _declared_shapes(table: SchemaObject, session: Session) -> dict[str, ColumnShape]:
    """Create the declared columns (and nothing else) as a scratch table, then read them back."""
    create = table.definition.tree
    schema = create.this if isinstance(create.this, exp.Schema) else None
    if schema is None:  # CREATE TABLE ... PARTITION OF: columns come from the parent
        return _column_shapes(session, table.schema, table.name)
    columns = []
    for column in schema.expressions:
        if not isinstance(column, exp.ColumnDef):
            continue
        kept = [
            c
            for c in column.args.get("constraints") or []
            if isinstance(
                c.kind,
                exp.NotNullColumnConstraint
                | exp.DefaultColumnConstraint
                | exp.GeneratedAsIdentityColumnConstraint,
            )
        ]
        columns.append(
            exp.ColumnDef(this=column.this, kind=column.args.get("kind"), constraints=kept)
        )
    # Primary keys imply NOT NULL.
    primary = {c.name for key in create.find_all(exp.PrimaryKey) for c in key.expressions}
    primary |= {
        column.name
        for column in schema.expressions
        if isinstance(column, exp.ColumnDef)
        and any(
            isinstance(c.kind, exp.PrimaryKeyColumnConstraint)
            for c in column.args.get("constraints") or []
        )
    }
    body = ", ".join(c.sql(DIALECT) for c in columns)
    session.conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(SHADOW_TABLE), sql.SQL(body)
        )
    )
    for name in primary:
        session.conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL").format(
                sql.Identifier(SHADOW_TABLE), sql.Identifier(name)
            )
        )
    shapes = _column_shapes(session, None, SHADOW_TABLE)
    session.conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(SHADOW_TABLE)))
    return shapes


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
            r["attname"], r["type"], r["attnotnull"], _normalized(r["default"]), r["identity"]
        )
        for r in rows
    }


def _normalized(default: str | None) -> str | None:
    """A default expression in one spelling: the scratch table is rendered by sqlglot,
    which writes now() as CURRENT_TIMESTAMP; read both sides back through it."""
    if default is None:
        return None
    try:
        return sqlglot.parse_one(default, read=DIALECT).sql(DIALECT)
    except ParseError:
        return default
