"""Reading the live catalog: what exists, and what it looks like."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from platform_assets.live.session import Session

TABLE_RELKINDS = ("r", "p")


@dataclass(frozen=True)
class LiveColumn:
    """A column as the server has it (pg_attribute, types and defaults as it renders them)."""

    name: str
    type: str
    not_null: bool
    default: str | None  # or a generated column's expression
    identity: str  # "a" GENERATED ALWAYS, "d" BY DEFAULT, "" none
    generated: str  # "s" a stored generated column, "" none

    @property
    def required(self) -> bool:
        """NOT NULL with no default, identity or generated value: a row must give it."""
        return self.not_null and self.default is None and not self.identity and not self.generated


def relkind(session: Session, schema: str, name: str) -> str | None:
    """pg_class.relkind of a relation, or None when it does not exist."""
    return session.value(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    )


def schema_exists(session: Session, name: str) -> bool:
    return bool(session.value("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)))


def extension_version(session: Session, name: str) -> str | None:
    return session.value("SELECT extversion FROM pg_extension WHERE extname = %s", (name,))


def extension_available(session: Session, name: str) -> bool:
    return bool(session.value("SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,)))


def type_kind(session: Session, schema: str, name: str) -> str | None:
    """pg_type.typtype ('e' enum, 'd' domain, ...) of a user type, or None."""
    return session.value(
        "SELECT t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s AND t.typname = %s",
        (schema, name),
    )


def enum_labels(session: Session, schema: str, name: str) -> list[str]:
    rows = session.rows(
        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
        "JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s AND t.typname = %s ORDER BY e.enumsortorder",
        (schema, name),
    )
    return [row["enumlabel"] for row in rows]


def function_sources(session: Session, schema: str, name: str) -> list[str]:
    """prosrc of every function of that name (one per overload)."""
    rows = session.rows(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname = %s",
        (schema, name),
    )
    return [row["prosrc"] for row in rows]


def trigger_exists(session: Session, schema: str, table: str, name: str) -> bool:
    return bool(
        session.value(
            "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND t.tgname = %s AND NOT t.tgisinternal",
            (schema, table, name),
        )
    )


def constraint_names(session: Session, schema: str, table: str) -> set[str]:
    rows = session.rows(
        "SELECT con.conname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    )
    return {row["conname"] for row in rows}


def columns(session: Session, schema: str | None, table: str) -> list[LiveColumn]:
    """The columns of a relation in order, none when it does not exist; `schema` None
    for a temporary table of this session."""
    relation = (
        sql.Identifier(schema, table)
        if schema
        else sql.SQL("pg_temp.{}").format(sql.Identifier(table))
    )
    rows = session.rows(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity, "
        "a.attgenerated::text AS generated "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (relation.as_string(session.conn),),
    )
    return [
        LiveColumn(
            r["attname"], r["type"], r["attnotnull"], r["default"], r["identity"], r["generated"]
        )
        for r in rows
    ]


def row_count(session: Session, schema: str, table: str) -> int:
    return session.value(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))


def object_comment(session: Session, schema: str, name: str) -> str | None:
    return session.value(
        "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    )
