"""How a hypertable declaration becomes native range partitions on plain PostgreSQL.

The width rule: a partition is at least one day wide (the declared chunk interval
rounded up to 1 day, 7 days, 1 month or 1 year), and widened to the next of those
until the partitions a table holds at steady state (retention / width, plus the
current one, plus premake) are at most MAX_PARTITIONS. So 1 hour chunks kept 90
days give daily partitions (95 of them), 1 day chunks kept 365 days weekly ones.

Partitions exist for the current period, `premake` periods ahead and `lookback`
(default: premake) periods behind, never one already past retention. An
annotation on the `create_hypertable` statement (or the table) overrides any of
them: `-- platform: partition_interval="1 day" premake=7 lookback=2`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from platform_assets.model.declarations import (
    HypertableConversion,
    RetentionPolicy,
    TableDefinition,
)
from platform_assets.model.intervals import DAY, interval_seconds
from platform_assets.model.objects import ObjectKind, SchemaObject

if TYPE_CHECKING:
    from platform_assets.model.graph import SchemaGraph

DEFAULT_PREMAKE = 4  # pg_partman's default
MAX_PARTITIONS = 100
# Candidate widths, narrowest first, with their nominal length in seconds.
WIDTHS: tuple[tuple[str, float], ...] = (
    ("1 day", DAY),
    ("7 days", 7 * DAY),
    ("1 month", 30 * DAY),
    ("1 year", 365 * DAY),
)


def choose_width(chunk_interval: object, retention: object | None, premake: int) -> str:
    """The partition width for a declared chunk interval (see the module docstring)."""
    chunk = interval_seconds(chunk_interval) if chunk_interval is not None else DAY
    kept = interval_seconds(retention) if retention else 0.0
    for width, seconds in WIDTHS:
        if seconds < chunk:
            continue
        if math.ceil(kept / seconds) + 1 + premake <= MAX_PARTITIONS:
            return width
    return WIDTHS[-1][0]


def hypertable_settings(
    hypertable: SchemaObject, retention: SchemaObject | None, annotations: dict[str, str]
) -> dict[str, str]:
    """partition_interval, premake and retention for a hypertable rendered natively."""
    settings = {**hypertable.annotations, **annotations}
    premake = int(settings.get("premake", DEFAULT_PREMAKE))
    settings["premake"] = str(premake)
    # TimescaleDB takes rows of any time: the native form also takes recent late rows,
    # with as many partitions behind the current one as ahead (as pg_partman creates).
    settings.setdefault("lookback", str(premake))
    if retention is not None and "retention" not in settings:
        settings["retention"] = str(retention.declared(RetentionPolicy).drop_after)
    conversion = hypertable.declared(HypertableConversion)
    if isinstance(conversion.chunk_interval, int):
        # Integer time (TimescaleDB's integer chunk_time_interval): partitions of that
        # many units, "now" from the declared set_integer_now_func.
        settings["integer_time"] = "true"
        if conversion.integer_now_func:
            settings.setdefault("integer_now_func", conversion.integer_now_func)
        width = integer_width(conversion.chunk_interval, settings.get("retention"), premake)
        settings.setdefault("partition_interval", str(width))
    if "partition_interval" not in settings:
        settings["partition_interval"] = choose_width(
            hypertable.declared(HypertableConversion).chunk_interval,
            settings.get("retention"),
            premake,
        )
    return settings


def integer_width(chunk: int, retention: object | None, premake: int) -> int:
    """An integer-time partition width: the chunk interval, doubled until the partitions
    kept at steady state (as for time) are at most MAX_PARTITIONS."""
    width = max(chunk, 1)
    kept = int(str(retention)) if retention not in (None, "", "None") else 0
    while math.ceil(kept / width) + 1 + premake > MAX_PARTITIONS:
        width *= 2
    return width


def is_range_partitioned(obj: SchemaObject) -> bool:
    """A table declared `PARTITION BY RANGE (...)` in its own SQL."""
    return obj.kind == ObjectKind.TABLE and obj.declared(TableDefinition).partitioning is not None


def partition_settings(obj: SchemaObject, graph: SchemaGraph) -> dict[str, str]:
    """Premake, retention and interval of a natively partitioned table: its
    `-- platform:` annotation, else (a hypertable rendered natively) the width rule
    of partition_rules.py and its retention policy's drop_after."""
    settings = dict(obj.annotations)
    hypertable = graph.attached(obj, ObjectKind.HYPERTABLE)
    retention = graph.attached(obj, ObjectKind.RETENTION_POLICY)
    if hypertable is not None:  # the width rule of partition_rules.py
        return hypertable_settings(hypertable, retention, settings)
    if retention is not None and "retention" not in settings:
        settings["retention"] = str(retention.declared(RetentionPolicy).drop_after)
    return settings
