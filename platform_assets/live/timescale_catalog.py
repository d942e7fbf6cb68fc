"""Reads of TimescaleDB's own catalog (`timescaledb_information`, `_timescaledb_catalog`),
for the engine, evolution and checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
from psycopg import sql

from platform_assets.live.session import Session
from platform_assets.model.objects import ObjectKind
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import fold_identifiers


@dataclass
class LiveHypertable:
    chunk_interval: str | None  # as the server renders it, e.g. '1 day'
    dimensions: list[str]  # e.g. ["time by_range 1 day", "tenant_id by_hash 4"]
    dimension_columns: set[str]
    chunks: int
    compression_enabled: bool


def qualified(session: Session, schema: str, name: str) -> str:
    return sql.Identifier(schema, name).as_string(session.conn)


def hypertable(session: Session, schema: str, name: str) -> LiveHypertable | None:
    rows = session.snapshot.timescale("hypertables", schema, name)
    if not rows:
        return None
    dimensions = []
    for row in rows:
        if row["num_partitions"]:
            dimensions.append(f"{row['column_name']} by_hash {row['num_partitions']}")
        else:
            interval = row["time_interval"] or row["integer_interval"]
            dimensions.append(f"{row['column_name']} by_range {interval}")
    return LiveHypertable(
        chunk_interval=rows[0]["time_interval"] or str(rows[0]["integer_interval"]),
        dimensions=dimensions,
        dimension_columns={row["column_name"] for row in rows},
        chunks=rows[0]["num_chunks"],
        compression_enabled=rows[0]["compression_enabled"],
    )


def compression_settings(session: Session, schema: str, name: str) -> dict[str, str] | None:
    """segmentby / orderby as the server renders them, or None when compression is off."""
    rows = session.snapshot.timescale("columnstores", schema, name)
    return {"segmentby": rows[0]["segmentby"], "orderby": rows[0]["orderby"]} if rows else None


# The job procedure of each policy kind (timescaledb_information.jobs.proc_name).
POLICY_PROCEDURES: dict[ObjectKind, str] = {
    ObjectKind.COMPRESSION_POLICY: "policy_compression",
    ObjectKind.RETENTION_POLICY: "policy_retention",
    ObjectKind.REORDER_POLICY: "policy_reorder",
    ObjectKind.REFRESH_POLICY: "policy_refresh_continuous_aggregate",
}


def refresh_policy_job(session: Session, schema: str, view: str) -> int | None:
    """The job id of a continuous aggregate's refresh policy, if it has one."""
    found = jobs(session, POLICY_PROCEDURES[ObjectKind.REFRESH_POLICY], schema, view)
    return found[0]["job_id"] if found else None


def jobs(session: Session, proc_name: str, schema: str, relation: str) -> list[dict[str, Any]]:
    """The policy jobs of one relation (a hypertable or, for aggregates, the view)."""
    return [
        row
        for row in session.snapshot.timescale("policy_jobs", schema, relation)
        if row["proc_name"] == proc_name
    ]


def is_continuous_aggregate(session: Session, schema: str, name: str) -> bool:
    return bool(session.snapshot.timescale("continuous_aggregates", schema, name))


def same_interval(session: Session, left: object, right: object) -> bool:
    """Whether two interval spellings ('7 DAYS', '7 days', '168:00:00') are equal."""
    return bool(session.value("SELECT %s::text::interval = %s::text::interval", (left, right)))


def stored_interval(session: Session, value: object) -> str:
    """An interval as the server renders it ('14 DAYS' -> '14 days')."""
    return session.value("SELECT %s::text::interval::text", (value,))


def installed(session: Session) -> bool:
    """Whether the TimescaleDB extension is installed in this database."""
    return session.snapshot.extension_version("timescaledb") is not None


@dataclass
class LiveColumnstore:
    """A hypertable's columnstore (compression) settings, as the server renders them."""

    segmentby: str | None
    orderby: str | None
    chunk_interval: str | None  # compress_chunk_time_interval, when set
    # The sparse indexes the user configured ('bloom(label), minmax(v)'), on versions
    # that have them (2.22+); those made from orderby are TimescaleDB's own.
    sparse_index: str | None
    compressed_chunks: int

    def setting_of(self, column: str) -> str | None:
        """The setting that names `column` (compress_segmentby / compress_orderby), if any."""
        if column in setting_columns(self.segmentby):
            return "compress_segmentby"
        if column in setting_columns(self.orderby):
            return "compress_orderby"
        return None


def columnstore(session: Session, schema: str, name: str) -> LiveColumnstore | None:
    """None unless `schema.name` is a hypertable with columnstore (compression) enabled."""
    if not installed(session):
        return None
    rows = session.snapshot.timescale("columnstores", schema, name)
    if not rows:
        return None
    row = rows[0]
    configured = [
        sql.SQL("{}({})").format(sql.SQL(index["type"]), sql.Identifier(index["column"]))
        for index in row["settings"].get("index") or []
        if index.get("source") == "config"
    ]
    return LiveColumnstore(
        segmentby=row["segmentby"] or None,
        orderby=row["orderby"] or None,
        chunk_interval=row["settings"].get("compress_interval_length"),
        sparse_index=sql.SQL(", ").join(configured).as_string(session.conn) if configured else None,
        compressed_chunks=row["compressed"],
    )


def setting_columns(text: str | None) -> list[str]:
    """The column names of a segmentby or orderby setting ('device, ts DESC')."""
    if not text:
        return []
    tree = fold_identifiers(sqlglot.parse_one(f"SELECT 1 ORDER BY {text}", read=DIALECT))
    return [ordered.this.name for ordered in tree.args["order"].expressions]


@dataclass
class OwnRelations:
    """Relations TimescaleDB made in some schemas: never the user's orphans."""

    internal: set[tuple[str, str]]  # chunks, compressed chunks, internal tables and views
    default_indexes: set[tuple[str, str]]  # create_hypertable's indexes, chunk indexes
    aggregates: set[tuple[str, str]]  # continuous aggregates (their user views)


def own_relations(session: Session, schemas: list[str]) -> OwnRelations:
    """What TimescaleDB created in `schemas`, read from its catalog: chunks (in a
    hypertable's associated schema), compressed chunks, the compressed and
    materialization hypertables, an aggregate's partial and direct views, their
    indexes, and the default indexes create_hypertable makes on a hypertable (its
    time column DESC, and each space dimension with the time column DESC)."""
    found = OwnRelations(set(), set(), set())
    if not installed(session):
        return found
    internal = session.rows(
        """
        WITH internal AS (
            SELECT to_regclass(format('%%I.%%I', schema_name, table_name)) AS rel
            FROM _timescaledb_catalog.chunk
            UNION ALL
            SELECT to_regclass(format('%%I.%%I', schema_name, table_name))
            FROM _timescaledb_catalog.hypertable
            WHERE compression_state = 2
               OR id IN (SELECT mat_hypertable_id FROM _timescaledb_catalog.continuous_agg)
            UNION ALL
            SELECT to_regclass(format('%%I.%%I', partial_view_schema, partial_view_name))
            FROM _timescaledb_catalog.continuous_agg
            UNION ALL
            SELECT to_regclass(format('%%I.%%I', direct_view_schema, direct_view_name))
            FROM _timescaledb_catalog.continuous_agg
        )
        SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_index i ON i.indexrelid = c.oid
        WHERE n.nspname = ANY(%(schemas)s)
          AND (c.oid IN (SELECT rel FROM internal) OR i.indrelid IN (SELECT rel FROM internal))
        """,
        {"schemas": schemas},
    )
    for row in internal:
        target = found.default_indexes if row["relkind"] in ("i", "I") else found.internal
        target.add((row["schema"], row["name"]))
    indexes = session.rows(
        """
        SELECT n.nspname::text AS schema, ic.relname::text AS name,
               ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     ORDER BY k.ord) AS columns,
               i.indoption::int2[] AS options,
               ARRAY(SELECT d.column_name::text FROM _timescaledb_catalog.dimension d
                     WHERE d.hypertable_id = h.id AND d.interval_length IS NOT NULL
                     ORDER BY d.id) AS time_columns,
               ARRAY(SELECT d.column_name::text FROM _timescaledb_catalog.dimension d
                     WHERE d.hypertable_id = h.id AND d.interval_length IS NULL) AS space_columns
        FROM _timescaledb_catalog.hypertable h
        JOIN pg_index i ON i.indrelid = to_regclass(format('%%I.%%I', h.schema_name, h.table_name))
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
        WHERE n.nspname = ANY(%(schemas)s) AND NOT i.indisunique AND i.indpred IS NULL
          AND i.indexprs IS NULL AND i.indnatts = i.indnkeyatts
        """,
        {"schemas": schemas},
    )
    for row in indexes:
        if _is_default_index(row):
            found.default_indexes.add((row["schema"], row["name"]))
    aggregates = session.rows(
        "SELECT user_view_schema::text AS schema, user_view_name::text AS name "
        "FROM _timescaledb_catalog.continuous_agg WHERE user_view_schema = ANY(%(schemas)s)",
        {"schemas": schemas},
    )
    found.aggregates = {(row["schema"], row["name"]) for row in aggregates}
    return found


_INDOPTION_DESC = 1


def _is_default_index(row: dict[str, Any]) -> bool:
    """(time DESC), or (space column, time DESC): the indexes create_hypertable makes."""
    if not row["time_columns"]:
        return False
    time_column = row["time_columns"][0]
    columns, options = row["columns"], row["options"]
    if not columns or columns[-1] != time_column or not options[-1] & _INDOPTION_DESC:
        return False
    return len(columns) == 1 or (len(columns) == 2 and columns[0] in row["space_columns"])


def integer_now_func(session: Session, schema: str, name: str) -> str | None:
    """The integer_now function of an integer-time hypertable (by name), or None."""
    rows = session.snapshot.timescale("hypertables", schema, name)
    return next((row["integer_now_func"] for row in rows if row["integer_now_func"]), None)


def procedure_jobs(session: Session, schema: str, procedure: str) -> list[int]:
    """Ids of the jobs that run a procedure (add_job's user-defined actions)."""
    return [row["job_id"] for row in procedure_job_rows(session, schema, procedure)]


def procedure_job_rows(session: Session, schema: str, procedure: str) -> list[dict[str, Any]]:
    """The jobs that run a procedure: their ids and run limits."""
    return session.snapshot.timescale("procedure_jobs", schema, procedure)
