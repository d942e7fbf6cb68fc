"""What a TimescaleDB database declares, read from `timescaledb_information` and its catalog:
hypertables and their dimensions, columnstore settings, policy and user-defined jobs,
continuous aggregates. Names come back as `format('%I.%I')` renders them (quoted where
needed), intervals as the server prints them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from platform_assets.live.session import Session


@dataclass
class LiveDimension:
    column: str  # the column's name, as by_range and by_hash take it
    hash_partitions: int | None  # by_hash; else by_range
    interval: str | None  # the chunk interval: '1 day' or an integer, as text
    integer: bool


@dataclass
class LiveHypertableDeclaration:
    schema: str
    name: str
    relation: str  # schema.name, quoted where needed
    dimensions: list[LiveDimension] = field(default_factory=list)
    integer_now_func: str | None = None
    segmentby: str | None = None
    orderby: str | None = None
    compressed: bool = False


@dataclass
class LiveAggregate:
    schema: str
    name: str
    relation: str
    query: str
    materialized_only: bool


@dataclass
class TimescaleDeclarations:
    hypertables: list[LiveHypertableDeclaration]
    aggregates: list[LiveAggregate]  # sources before the aggregates reading them
    jobs: list[dict[str, Any]]  # timescaledb_information.jobs rows, policies and user jobs
    # (schema, table, trigger) TimescaleDB made itself (insert blocker, invalidation).
    own_triggers: set[tuple[str, str, str]]


def read_declarations(session: Session, schemas: list[str]) -> TimescaleDeclarations:
    """Everything TimescaleDB holds for the user's `schemas`."""
    rows = session.rows(
        "SELECT h.hypertable_schema::text AS schema, h.hypertable_name::text AS name, "
        "format('%%I.%%I', h.hypertable_schema, h.hypertable_name) AS relation, "
        "h.compression_enabled AS compressed, d.column_name::text AS column, "
        "d.num_partitions, d.time_interval::text AS time_interval, d.integer_interval, "
        "(SELECT format('%%I.%%I', cd.integer_now_func_schema, cd.integer_now_func) "
        " FROM _timescaledb_catalog.dimension cd "
        " JOIN _timescaledb_catalog.hypertable ch ON ch.id = cd.hypertable_id "
        " WHERE ch.schema_name = h.hypertable_schema AND ch.table_name = h.hypertable_name "
        "   AND cd.column_name = d.column_name AND cd.integer_now_func IS NOT NULL"
        ") AS now_function, "
        "s.segmentby, s.orderby "
        "FROM timescaledb_information.hypertables h "
        "JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name) "
        "LEFT JOIN timescaledb_information.hypertable_columnstore_settings s "
        "  ON s.hypertable = format('%%I.%%I', h.hypertable_schema, h.hypertable_name)::regclass "
        "WHERE h.hypertable_schema = ANY(%s) "
        "ORDER BY h.hypertable_schema, h.hypertable_name, d.dimension_number",
        (schemas,),
    )
    hypertables: dict[str, LiveHypertableDeclaration] = {}
    for row in rows:
        table = hypertables.setdefault(
            row["relation"],
            LiveHypertableDeclaration(
                row["schema"],
                row["name"],
                row["relation"],
                segmentby=row["segmentby"],
                orderby=row["orderby"],
                compressed=row["compressed"],
            ),
        )
        integer = row["integer_interval"] is not None
        table.dimensions.append(
            LiveDimension(
                row["column"],
                row["num_partitions"],
                str(row["integer_interval"]) if integer else row["time_interval"],
                integer,
            )
        )
        table.integer_now_func = table.integer_now_func or row["now_function"]
    aggregates = session.rows(
        "SELECT c.view_schema::text AS schema, c.view_name::text AS name, "
        "format('%%I.%%I', c.view_schema, c.view_name) AS relation, "
        "c.view_definition AS query, c.materialized_only, ca.mat_hypertable_id "
        "FROM timescaledb_information.continuous_aggregates c "
        "JOIN _timescaledb_catalog.continuous_agg ca "
        "  ON ca.user_view_schema = c.view_schema AND ca.user_view_name = c.view_name "
        "WHERE c.view_schema = ANY(%s) ORDER BY ca.mat_hypertable_id",
        (schemas,),
    )
    jobs = session.rows(
        "SELECT j.job_id, j.proc_schema::text AS proc_schema, j.proc_name::text AS proc_name, "
        "format('%%I.%%I', j.proc_schema, j.proc_name) AS procedure, "
        "j.hypertable_schema::text AS hypertable_schema, "
        "j.hypertable_name::text AS hypertable_name, "
        "CASE WHEN j.hypertable_name IS NOT NULL "
        "  THEN format('%%I.%%I', j.hypertable_schema, j.hypertable_name) END AS relation, "
        "j.schedule_interval::text AS schedule_interval, j.config, j.scheduled, "
        "j.fixed_schedule, j.initial_start, j.max_runtime::text AS max_runtime, "
        "j.max_retries, j.retry_period::text AS retry_period "
        "FROM timescaledb_information.jobs j "
        "WHERE j.hypertable_schema = ANY(%s) "
        "   OR (j.proc_schema = ANY(%s) AND j.hypertable_name IS NULL) ORDER BY j.job_id",
        (schemas, schemas),
    )
    triggers = session.rows(
        "SELECT n.nspname::text AS schema, c.relname::text AS name, t.tgname::text AS trigger "
        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE NOT t.tgisinternal AND n.nspname = ANY(%s) "
        "  AND p.pronamespace = '_timescaledb_functions'::regnamespace",
        (schemas,),
    )
    return TimescaleDeclarations(
        hypertables=list(hypertables.values()),
        aggregates=[
            LiveAggregate(r["schema"], r["name"], r["relation"], r["query"], r["materialized_only"])
            for r in aggregates
        ],
        jobs=jobs,
        own_triggers={(r["schema"], r["name"], r["trigger"]) for r in triggers},
    )
