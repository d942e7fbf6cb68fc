"""Reads of TimescaleDB's own catalog (`timescaledb_information`), for the engine and checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from platform_assets.session import Session


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
    rows = session.rows(
        "SELECT h.num_chunks, h.compression_enabled, d.dimension_number, d.column_name, "
        "d.dimension_type, d.time_interval::text AS time_interval, "
        "d.integer_interval, d.num_partitions "
        "FROM timescaledb_information.hypertables h "
        "JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name) "
        "WHERE h.hypertable_schema = %s AND h.hypertable_name = %s ORDER BY d.dimension_number",
        (schema, name),
    )
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
    rows = session.rows(
        "SELECT s.segmentby, s.orderby "
        "FROM timescaledb_information.hypertable_compression_settings s "
        "JOIN timescaledb_information.hypertables h "
        "  ON h.hypertable_schema = %s AND h.hypertable_name = %s AND h.compression_enabled "
        "WHERE s.hypertable = %s::regclass",
        (schema, name, qualified(session, schema, name)),
    )
    return rows[0] if rows else None


def jobs(session: Session, proc_name: str, schema: str, relation: str) -> list[dict[str, Any]]:
    """The policy jobs of one relation (a hypertable or, for aggregates, the view)."""
    return session.rows(
        "SELECT job_id, config, schedule_interval::text AS schedule_interval, scheduled "
        "FROM timescaledb_information.jobs "
        "WHERE proc_name = %s AND hypertable_schema = %s AND hypertable_name = %s "
        "ORDER BY job_id",
        (proc_name, schema, relation),
    )


def is_continuous_aggregate(session: Session, schema: str, name: str) -> bool:
    return bool(
        session.value(
            "SELECT count(*) FROM timescaledb_information.continuous_aggregates "
            "WHERE view_schema = %s AND view_name = %s",
            (schema, name),
        )
    )


def same_interval(session: Session, left: object, right: object) -> bool:
    """Whether two interval spellings ('7 DAYS', '7 days', '168:00:00') are equal."""
    return bool(session.value("SELECT %s::text::interval = %s::text::interval", (left, right)))


def interval_text(session: Session, value: object) -> str:
    """An interval as the server renders it ('14 DAYS' -> '14 days')."""
    return session.value("SELECT %s::text::interval::text", (value,))
