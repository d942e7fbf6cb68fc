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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import ObjectKind, SchemaObject

if TYPE_CHECKING:
    from platform_assets.model.graph import SchemaGraph

DEFAULT_PREMAKE = 4  # pg_partman's default
MAX_PARTITIONS = 100
DAY = 86400.0
# Candidate widths, narrowest first, with their nominal length in seconds.
WIDTHS: tuple[tuple[str, float], ...] = (
    ("1 day", DAY),
    ("7 days", 7 * DAY),
    ("1 month", 30 * DAY),
    ("1 year", 365 * DAY),
)
_UNIT_SECONDS = {
    "microsecond": 1e-6,
    "millisecond": 1e-3,
    "second": 1.0,
    "minute": 60.0,
    "hour": 3600.0,
    "day": DAY,
    "week": 7 * DAY,
    "month": 30 * DAY,
    "year": 365 * DAY,
}


def interval_seconds(value: object) -> float:
    """An interval as TimescaleDB parameters spell it ('1 HOUR', '90 days', '1 day 12:00:00',
    or an integer number of microseconds) in seconds; a month counts 30 days."""
    if isinstance(value, int | float):
        return float(value) / 1e6
    words = str(value).lower().split()
    total, index = 0.0, 0
    while index < len(words):
        word = words[index]
        if ":" in word:  # hh:mm[:ss]
            parts = [float(p) for p in word.split(":")]
            total += sum(p * f for p, f in zip(parts, (3600.0, 60.0, 1.0), strict=False))
            index += 1
            continue
        amount = float(word)
        unit = words[index + 1].rstrip("s") if index + 1 < len(words) else ""
        if unit not in _UNIT_SECONDS:
            raise ValueError(f"unreadable interval {value!r}")
        total += amount * _UNIT_SECONDS[unit]
        index += 2
    return total


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


@dataclass(frozen=True)
class HashDimension:
    column: str
    partitions: int


def time_column(hypertable: SchemaObject) -> str:
    """The time column of a hypertable declaration (current or legacy call form)."""
    dimension = hypertable.params.get("dimension")
    if isinstance(dimension, dict) and dimension.get("builder") == "by_range":
        column = dimension.get("column_name")
    else:
        column = hypertable.params.get("time_column_name")
    if not isinstance(column, str):
        raise SchemaError(
            "create_hypertable: no time column could be read",
            hypertable.location,
            hypertable.describe(),
        )
    return column


def chunk_interval(hypertable: SchemaObject) -> object | None:
    dimension = hypertable.params.get("dimension")
    if isinstance(dimension, dict) and dimension.get("partition_interval") is not None:
        return dimension["partition_interval"]
    return hypertable.params.get("chunk_time_interval")


def hash_dimensions(hypertable: SchemaObject) -> list[HashDimension]:
    """`add_dimension(..., by_hash(col, n))` (and legacy partitioning columns)."""
    found: list[HashDimension] = []
    legacy = hypertable.params.get("partitioning_column")
    if isinstance(legacy, str):
        found.append(HashDimension(legacy, int(hypertable.params.get("number_partitions") or 0)))
    for added in hypertable.params.get("dimensions") or []:
        dimension = added.get("dimension")
        if isinstance(dimension, dict) and dimension.get("builder") == "by_hash":
            found.append(
                HashDimension(
                    str(dimension.get("column_name")), int(dimension.get("number_partitions") or 0)
                )
            )
        elif isinstance(added.get("column_name"), str):  # legacy add_dimension(rel, col, n)
            found.append(
                HashDimension(added["column_name"], int(added.get("number_partitions") or 0))
            )
    return found


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
        settings["retention"] = str(retention.params.get("drop_after"))
    if isinstance(chunk_interval(hypertable), int):
        # Integer time (TimescaleDB's integer chunk_time_interval): partitions of that
        # many units, "now" from the declared set_integer_now_func.
        settings["integer_time"] = "true"
        now = hypertable.params.get("integer_now_func")
        if isinstance(now, str):
            settings.setdefault("integer_now_func", now)
        settings.setdefault(
            "partition_interval",
            str(integer_width(int(chunk_interval(hypertable)), settings.get("retention"), premake)),
        )
    if "partition_interval" not in settings:
        settings["partition_interval"] = choose_width(
            chunk_interval(hypertable), settings.get("retention"), premake
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
    return obj.kind == ObjectKind.TABLE and any(
        True for _ in obj.definition.tree.find_all(exp.PartitionedByProperty)
    )


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
        settings["retention"] = str(retention.params.get("drop_after"))
    return settings
