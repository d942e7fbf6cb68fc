"""What each engine gives for every TimescaleDB declaration (and declared native partitions).

The same text is the `engine_equivalent` metadata of an asset materialized on plain
PostgreSQL and a line of `platform engines`, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from platform_assets.execute import rollups
from platform_assets.execute.partition_rules import is_range_partitioned, partition_settings
from platform_assets.model.declarations import (
    ColumnstoreSettings,
    CompressionPolicy,
    HypertableConversion,
    RefreshPolicy,
    ReorderPolicy,
    RetentionPolicy,
)
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKind, SchemaObject


@dataclass(frozen=True)
class EngineComparison:
    key: str
    description: str
    postgresql: str
    timescaledb: str


def postgres_equivalent(obj: SchemaObject, graph: SchemaGraph) -> str:
    """What plain PostgreSQL gives for `obj` (a TimescaleDB declaration or a partitioned table)."""
    relation = graph.relation(obj.schema, obj.relation) if obj.relation else None
    kind = obj.kind
    if kind == ObjectKind.HYPERTABLE and relation is not None:
        conversion = obj.declared(HypertableConversion)
        text = f"table partitioned by range ({conversion.time_column}); " + _partitions_text(
            relation, graph
        )
        hashed = conversion.hash_dimensions
        if hashed:
            listed = ", ".join(f"{h.column} ({h.partitions} partitions)" for h in hashed)
            text += (
                f"; hash dimension {listed} has no native equivalent at this level "
                "(not applied: sub-partitioning every time partition by hash would "
                "multiply the tables)"
            )
        return text
    if kind == ObjectKind.TABLE and is_range_partitioned(obj):
        if "partition_interval" not in obj.annotations:
            return "declared partitioned table; its partitions are left to the user (no annotation)"
        return "declared partitioned table; " + _partitions_text(obj, graph)
    if kind == ObjectKind.RETENTION_POLICY:
        if relation is not None and relation.kind == ObjectKind.CONTINUOUS_AGGREGATE:
            return (
                "not applicable: a materialized view is recomputed from its source at each "
                "refresh, so it keeps only what the source keeps (history older than the "
                "source's retention is not kept)"
            )
        return (
            f"partitions wholly older than {obj.declared(RetentionPolicy).drop_after} are "
            "detached, then "
            "dropped, by partition upkeep (never one holding a newer row)"
        )
    if kind in (ObjectKind.COMPRESSION_SETTINGS, ObjectKind.COMPRESSION_POLICY):
        return (
            "not applicable: plain PostgreSQL has no columnstore or compression of whole "
            "partitions (TOAST compresses only large values); rows stay uncompressed"
        )
    if kind == ObjectKind.REORDER_POLICY:
        return (
            "not applicable: no background reordering of partitions (CLUSTER locks the "
            "table and is not kept up as rows arrive)"
        )
    if kind == ObjectKind.CONTINUOUS_AGGREGATE:
        return (
            "materialized view (time_bucket as date_bin/date_trunc) with unique index "
            f"{rollups.group_index_name(obj)} on ({', '.join(rollups.group_key(obj))}), "
            "refreshed CONCURRENTLY"
        )
    if kind == ObjectKind.REFRESH_POLICY and relation is not None:
        every = obj.declared(RefreshPolicy).schedule_interval
        return (
            f"Dagster schedule {rollups.refresh_schedule_name(relation)} "
            f"({rollups.cron_for(every)}) refreshes the whole view CONCURRENTLY"
        )
    if kind == ObjectKind.EXTENSION and obj.name == "timescaledb":
        return "not installed: TimescaleDB declarations get the native equivalents listed here"
    return "as declared"


def timescale_equivalent(obj: SchemaObject, graph: SchemaGraph) -> str:
    kind = obj.kind
    if kind == ObjectKind.HYPERTABLE:
        conversion = obj.declared(HypertableConversion)
        text = (
            f"hypertable on {conversion.time_column}, "
            f"{conversion.chunk_interval or 'default'} chunks"
        )
        hashed = conversion.hash_dimensions
        if hashed:
            text += ", hash " + ", ".join(f"{h.column} ({h.partitions})" for h in hashed)
        return text
    if kind == ObjectKind.TABLE and is_range_partitioned(obj):
        return postgres_equivalent(obj, graph)  # native partitioning on both engines
    if kind == ObjectKind.RETENTION_POLICY:
        return f"retention job: drop chunks older than {obj.declared(RetentionPolicy).drop_after}"
    if kind == ObjectKind.COMPRESSION_SETTINGS:
        options = obj.declared(ColumnstoreSettings).options
        return "columnstore settings " + ", ".join(f"{k}={v}" for k, v in options)
    if kind == ObjectKind.COMPRESSION_POLICY:
        after = obj.declared(CompressionPolicy).after
        return f"compression job: compress chunks older than {after}"
    if kind == ObjectKind.REORDER_POLICY:
        return f"reorder job on index {obj.declared(ReorderPolicy).index_name}"
    if kind == ObjectKind.CONTINUOUS_AGGREGATE:
        return "continuous aggregate (incremental, keeps history past the source's retention)"
    if kind == ObjectKind.REFRESH_POLICY:
        refresh = obj.declared(RefreshPolicy)
        return (
            f"refresh job every {refresh.schedule_interval} over "
            f"[now - {refresh.start_offset}, now - {refresh.end_offset}]"
        )
    if kind == ObjectKind.EXTENSION:
        return "installed"
    return "as declared"


def _partitions_text(table: SchemaObject, graph: SchemaGraph) -> str:
    settings = partition_settings(table, graph)
    text = (
        f"partitions {settings['partition_interval']} wide named {table.name}_pYYYYMMDD, "
        f"the current one and {settings.get('premake', 0)} ahead"
    )
    if int(settings.get("lookback", 0)):
        text += f" ({settings['lookback']} behind at first)"
    if settings.get("retention"):
        text += f", dropped past {settings['retention']}"
    return text


def engine_comparisons(graph: SchemaGraph) -> list[EngineComparison]:
    """Every object whose form differs between the engines, in dependency order."""
    rows = []
    for obj in graph:
        if not (
            obj.is_timescale
            or is_range_partitioned(obj)
            or (obj.kind == ObjectKind.EXTENSION and obj.name == "timescaledb")
        ):
            continue
        rows.append(
            EngineComparison(
                "/".join(obj.key),
                obj.describe(),
                postgres_equivalent(obj, graph),
                timescale_equivalent(obj, graph),
            )
        )
    return rows
