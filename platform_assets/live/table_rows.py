"""A table's rows as the server prints each value, for writing them out as a seed."""

from __future__ import annotations

from psycopg import sql

from platform_assets.live.session import Session


def table_rows(session: Session, schema: str, table: str) -> tuple[list[str], list[tuple]] | None:
    """(columns, rows) of a table, every value as text (None for NULL), rows in column
    order; generated columns are left out (they cannot be written). None: no such table."""
    columns = session.rows(
        "SELECT a.attname::text AS name FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        (schema, table),
    )
    if not columns:
        return None
    names = [row["name"] for row in columns]
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(n)) for n in names),
        sql.Identifier(schema, table),
        sql.SQL(", ").join(sql.SQL(str(i + 1)) for i in range(len(names))),
    )
    with session.conn.cursor() as cursor:
        cursor.execute(query)
        return names, cursor.fetchall()
