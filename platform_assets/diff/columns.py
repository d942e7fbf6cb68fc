"""Declared vs live table columns, compared once for both the drift check and evolution.

Both sides are first compared as sqlglot spells them (no DDL: a healthy
database is verified without touching it); only when that finds a difference
are the declared columns rendered by the server itself, in a scratch table,
so spellings sqlglot cannot equate (casts the server adds) are not reported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError

from platform_assets.live import catalog
from platform_assets.live.session import Session
from platform_assets.live.snapshot import LiveColumn
from platform_assets.model.declarations import Column, TableDefinition
from platform_assets.model.objects import SchemaObject
from platform_assets.parse.dialect import DIALECT

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


@dataclass
class ColumnComparison:
    """Live columns against the declared ones, both as the server renders them."""

    live: dict[str, ColumnShape]
    declared: dict[str, ColumnShape]
    # The declared column definitions as written (with every inline constraint).
    written: dict[str, exp.ColumnDef] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # declared, not live
    extra: list[str] = field(default_factory=list)  # live, not declared
    changed: list[str] = field(default_factory=list)  # both, with another shape

    @property
    def same(self) -> bool:
        return not (self.missing or self.extra or self.changed)

    def comparable(self, name: str) -> tuple[ColumnShape, ColumnShape]:
        """(live, declared) of one column in sqlglot's spelling."""
        return _spelled([self.live[name]])[name], _spelled([self.declared[name]])[name]


def compare_columns(table: SchemaObject, session: Session) -> ColumnComparison | None:
    """None when the table does not exist or takes its columns from elsewhere
    (`PARTITION OF`, `AS SELECT`)."""
    live = _column_shapes(session, table.schema, table.name)
    columns = table.declared(TableDefinition).columns
    if not live or columns is None:
        return None
    written = {c.name: c.definition for c in columns}
    declared_spelling = _spelled(_declared_spelling(columns))
    if _same_shapes(
        declared_spelling, _spelled(live.values()), session, table.definition.search_path
    ):
        return ColumnComparison(live, dict(live), written)
    declared = _server_shapes(table, columns, session)
    comparison = ColumnComparison(live, declared, written)
    comparable_live, comparable_declared = _spelled(live.values()), _spelled(declared.values())
    for name in declared:
        if name not in live:
            comparison.missing.append(name)
        elif comparable_live[name] != comparable_declared[name]:
            comparison.changed.append(name)
    comparison.extra = [name for name in live if name not in declared]
    return comparison


def column_differences(table: SchemaObject, session: Session) -> list[str]:
    """Declared vs live columns, in words."""
    comparison = compare_columns(table, session)
    if comparison is None:
        if not _column_shapes(session, table.schema, table.name):
            return [f"table {table.qualified_name} does not exist"]
        return []
    differences = [f"column {name} is declared but missing" for name in comparison.missing]
    differences += [
        f"column {name}: declared {comparison.declared[name].describe()}, "
        f"live {comparison.live[name].describe()}"
        for name in comparison.changed
    ]
    differences += [f"column {name} exists but is not declared" for name in comparison.extra]
    return differences


def _declared_spelling(columns: tuple[Column, ...]) -> list[ColumnShape]:
    return [
        ColumnShape(
            column.name,
            column.type_sql,
            column.not_null or bool(column.identity),
            column.default.sql(DIALECT) if column.default is not None else None,
            column.identity,
        )
        for column in columns
    ]


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
        try:  # constants alone: neutral
            with session.neutral(), session.transaction(search_path):
                if not session.value(comparison):
                    return False
        except psycopg.Error:  # not comparable as constants: let the server-rendered path decide
            return False
    return True


@functools.cache  # pure, and asked again for every column of every run's tables
def _is_constant(default: str | None) -> bool:
    """A literal, possibly cast: safe to evaluate (no function is called)."""
    if default is None:
        return False
    tree = sqlglot.parse_one(default, read=DIALECT)
    return not any(
        isinstance(node, exp.Func) and not isinstance(node, exp.Cast) for node in tree.walk()
    )


@functools.cache  # pure, and asked again for every column of every run's tables
def _type_spelling(type_text: str) -> str:
    try:
        data_type = sqlglot.parse_one(f"CAST(NULL AS {type_text})", read=DIALECT).to
    except ParseError:
        return type_text
    # A user type is shown qualified unless it is on the search path: compare by name.
    return data_type.sql(DIALECT).rsplit(".", 1)[-1]


@functools.cache  # pure, and asked again for every column of every run's tables
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
    table: SchemaObject, columns: tuple[Column, ...], session: Session
) -> dict[str, ColumnShape]:
    """Create the declared columns (and nothing else) as a scratch table, then read them
    back: the server's own rendering of what was declared."""
    body = ", ".join(c.shape.sql(DIALECT) for c in columns)
    with session.conn.transaction(force_rollback=True):
        if table.definition.search_path:
            path = sql.SQL(", ").join(sql.Identifier(s) for s in table.definition.search_path)
            session.conn.execute(sql.SQL("SET LOCAL search_path TO {}, pg_temp").format(path))
        session.conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ({})").format(sql.Identifier(SHADOW_TABLE), sql.SQL(body))
        )
        return _shapes(catalog.temporary_columns(session, SHADOW_TABLE))


def _column_shapes(session: Session, schema: str, table: str) -> dict[str, ColumnShape]:
    return _shapes(session.snapshot.columns(schema, table))


def _shapes(columns: list[LiveColumn]) -> dict[str, ColumnShape]:
    return {c.name: ColumnShape(c.name, c.type, c.not_null, c.default, c.identity) for c in columns}
