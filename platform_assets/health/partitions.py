"""`chunk_health` of natively range-partitioned tables (both engines)."""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from platform_assets.execute.partition_rules import partition_settings
from platform_assets.execute.partitions import integer_bounds, range_bounds
from platform_assets.health.findings import CHUNK_HEALTH, EXAMPLES, Finding, of_kind
from platform_assets.live.session import Session
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKind

_PARTITIONS = """
SELECT n.nspname AS schema, parent.relname AS name, child.relname AS partition,
       pg_get_expr(child.relpartbound, child.oid) = 'DEFAULT' AS is_default,
       pg_get_partition_constraintdef(child.oid) AS bound
FROM pg_partitioned_table p
JOIN pg_class parent ON parent.oid = p.partrelid
JOIN pg_namespace n ON n.oid = parent.relnamespace
LEFT JOIN pg_inherits i ON i.inhparent = p.partrelid
LEFT JOIN pg_class child ON child.oid = i.inhrelid
WHERE p.partstrat = 'r'
"""


def partition_findings(session: Session, graph: SchemaGraph, now: datetime) -> list[Finding]:
    """`chunk_health` of every natively range-partitioned declared table: a partition
    for now and the premake horizon, none wholly past retention, no rows in a default
    partition. One query for all partitions, then at most two per table."""
    partitions: dict[tuple[str, str], list[dict]] = {}
    for row in session.rows(_PARTITIONS):
        partitions.setdefault((row["schema"], row["name"]), []).append(row)
    findings = []
    for obj in of_kind(graph, ObjectKind.TABLE):
        if (obj.schema, obj.name) not in partitions:
            continue
        rows = [r for r in partitions[(obj.schema, obj.name)] if r["partition"]]
        settings = partition_settings(obj, graph)
        integer = bool(settings.get("integer_time"))
        bound_of = integer_bounds if integer else range_bounds
        bounds = {r["partition"]: bound_of(r["bound"]) for r in rows if not r["is_default"]}
        default = next((r["partition"] for r in rows if r["is_default"]), None)
        if integer:
            horizon, cutoff = _integer_horizon_and_cutoff(session, settings)
        else:
            horizon, cutoff = _horizon_and_cutoff(session, now, settings)
        uppers = [upper for _, upper in bounds.values() if upper is not None]
        covered_until = max(uppers, default=None)
        problems: list[str] = []
        if horizon is not None and (covered_until is None or covered_until <= horizon):
            problems.append(
                f"no partition for {_point(horizon)} (premake horizon); partitions end "
                + (
                    f"at {_point(covered_until)}"
                    if covered_until is not None
                    else "nowhere: none exist"
                )
            )
        expired = sorted(
            name for name, (_, upper) in bounds.items() if cutoff and upper and upper <= cutoff
        )
        if expired:
            problems.append(f"{len(expired)} partition(s) wholly past retention are still present")
        metadata: dict[str, object] = {
            "partitions": len(bounds),
            "covered_until": _iso(covered_until),
            "premake_horizon": _iso(horizon),
        }
        if expired:
            metadata["expired_partitions"] = expired[:EXAMPLES]
        if default is not None:
            has_rows = session.value(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
                    sql.Identifier(obj.schema, default)
                )
            )
            metadata["default_partition"] = default
            if has_rows:
                problems.append(f"rows in the default partition {default}")
        # A hypertable rendered as native partitions reports on its hypertable asset.
        target = (graph.attached(obj, ObjectKind.HYPERTABLE) or obj).key
        findings.append(
            Finding(target, CHUNK_HEALTH, problems, metadata, fix=target if problems else None)
        )
    return findings


def _point(value: datetime | int) -> str:
    """A bound as the finding prints it: an instant to the minute, integer time as it is."""
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else str(value)


def _iso(value: datetime | int | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else "" if value is None else str(value)


def _integer_horizon_and_cutoff(
    session: Session, settings: dict[str, str]
) -> tuple[int | None, int | None]:
    """For integer time, from "now" of the declared now function (as upkeep reads it):
    now + premake widths and now - retention; no horizon without a now function."""
    now_func = settings.get("integer_now_func")
    if not now_func:
        return None, None
    now = int(session.value(sql.SQL("SELECT {}()").format(sql.Identifier(*now_func.split(".")))))
    horizon = now + int(settings["partition_interval"]) * int(settings.get("premake", 0))
    retention = settings.get("retention")
    return horizon, now - int(retention) if retention else None


def _horizon_and_cutoff(
    session: Session, now: datetime, settings: dict[str, str]
) -> tuple[datetime, datetime | None]:
    """now + premake partition intervals (at least now itself), and now - retention."""
    row = session.rows(
        "SELECT %(now)s::timestamptz + %(interval)s::interval * %(premake)s AS horizon, "
        "%(now)s::timestamptz - %(retention)s::interval AS cutoff",
        {
            "now": now,
            "interval": settings.get("partition_interval", "0"),
            "premake": int(settings.get("premake", 0)),
            "retention": settings.get("retention"),
        },
    )[0]
    return row["horizon"], row["cutoff"]
