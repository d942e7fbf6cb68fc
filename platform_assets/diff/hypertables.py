"""Column changes on a TimescaleDB hypertable whose columnstore (compression) is enabled.

What TimescaleDB does there (verified on 2.23, the test server): ADD COLUMN works,
and so does DROP COLUMN, compressed chunks included, except for a column named in
compress_segmentby or compress_orderby ("cannot drop orderby or segmentby column
from a hypertable with columnstore enabled"; changing the setting leaves the chunks
compressed with it refusing the same). `ALTER COLUMN ... TYPE` is refused
outright ("operation not supported on hypertables that have columnstore
enabled"), compressed chunks or not, and so is `VALIDATE CONSTRAINT`
(constraints.py adds a constraint validated there); columnstore cannot be
switched off while any chunk is compressed.

So a type change is applied by switching columnstore off, changing the type and
switching it back on with the live settings, in the table's one transaction,
when no chunk is compressed; the policy jobs are kept. With compressed chunks,
and for a segmentby/orderby column dropped, the change is refused up front with
what to do, naming the table's file and line.
"""

from __future__ import annotations

from psycopg import sql

from platform_assets.diff.guard import Change
from platform_assets.live import timescale_catalog as tc
from platform_assets.live.session import Session
from platform_assets.model.errors import SchemaError
from platform_assets.model.hazards import alter_table
from platform_assets.model.objects import SchemaObject


def columnstore(table: SchemaObject, session: Session) -> tc.LiveColumnstore | None:
    """The table's live columnstore settings, when it is a hypertable with it enabled."""
    return tc.columnstore(session, table.schema, table.name)


def refuse_columnstore_drops(
    table: SchemaObject, session: Session, live: tc.LiveColumnstore, dropped: list[str]
) -> None:
    """A column named in the columnstore settings cannot be dropped: say so, and how."""
    for name in dropped:
        setting = live.setting_of(name)
        if setting is None:
            continue
        current = live.segmentby if setting == "compress_segmentby" else live.orderby
        decompress = ""
        if live.compressed_chunks:
            literal = sql.Literal(table.qualified_name).as_string(session.conn)
            decompress = (
                f" and decompress the {live.compressed_chunks} chunk(s) compressed with it "
                f"(SELECT decompress_chunk(c, true) FROM show_chunks({literal}) c)"
            )
        raise SchemaError(
            f"cannot drop column {name}: the hypertable's columnstore (compression) settings "
            f"name it ({setting} = '{current}'), and TimescaleDB refuses to drop a segmentby "
            "or orderby column while columnstore is enabled, from the hypertable and from "
            "every chunk compressed with it (allow_destructive cannot change that); first "
            f"set {setting} without it (ALTER TABLE {table.qualified_name} SET "
            f"(timescaledb.{setting} = '...')){decompress}, then materialize again",
            table.location,
            table.describe(),
        )


def around_type_changes(
    table: SchemaObject,
    session: Session,
    live: tc.LiveColumnstore,
    retyped: list[tuple[str, str, str]],
    types: list[Change],
) -> list[Change]:
    """The type changes, with columnstore switched off around them and back on with the
    live settings; refused when chunks are compressed. `retyped`: (column, old, new)."""
    relation = sql.Identifier(table.schema, table.name)
    if live.compressed_chunks:
        columns = ", ".join(f"{name} ({old} -> {new})" for name, old, new in retyped)
        literal = sql.Literal(table.qualified_name).as_string(session.conn)
        raise SchemaError(
            f"cannot change the type of column {columns}: TimescaleDB refuses ALTER COLUMN "
            "... TYPE on a hypertable with columnstore (compression) enabled, and "
            f"{live.compressed_chunks} of its chunks are compressed, so columnstore cannot be "
            "switched off around the change; decompress them (SELECT decompress_chunk(c, true) "
            f"FROM show_chunks({literal}) c) and materialize again (the compression policy "
            "compresses them again on its next run)",
            table.location,
            table.describe(),
        )
    options = [sql.SQL("timescaledb.compress")]
    for option, value in (
        ("compress_segmentby", live.segmentby),
        ("compress_orderby", live.orderby),
        ("compress_chunk_time_interval", live.chunk_interval),
        ("sparse_index", live.sparse_index),
    ):
        if value:
            options.append(
                sql.SQL("timescaledb.{} = {}").format(sql.SQL(option), sql.Literal(value))
            )
    switch_off = sql.SQL("ALTER TABLE {} SET (timescaledb.compress = false)").format(relation)
    switch_on = sql.SQL("ALTER TABLE {} SET ({})").format(relation, sql.SQL(", ").join(options))
    return [Change([alter_table(switch_off)]), *types, Change([alter_table(switch_on)])]
