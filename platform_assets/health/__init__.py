"""What the health sensors observe: chunks, partitions, policy jobs and aggregates.

Every function here costs a fixed number of catalog queries however many chunks or
partitions there are (one query returns all of them, aggregated by the server; a few
per aggregate for its watermark, pending rows and spot check), and
returns one `Finding` per declared object it concerns, healthy or not, so a sensor
tick reports every object it looked at.

Modules: `findings` (the check names and `Finding`), `timescale` (chunks and policy
jobs), `partitions` (native range partitions) and `aggregates`.
"""

from __future__ import annotations

from datetime import datetime

from platform_assets.execute.partition_rules import is_range_partitioned
from platform_assets.health.aggregates import aggregate_findings
from platform_assets.health.findings import (
    AGGREGATE_HEALTH,
    CHUNK_HEALTH,
    JOB_HEALTH,
    POLICY_PROCS,
    Finding,
)
from platform_assets.health.partitions import partition_findings
from platform_assets.health.timescale import timescale_chunk_findings, timescale_job_findings
from platform_assets.live import timescale_catalog as tc
from platform_assets.live.session import Session
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKind, SchemaObject

__all__ = [
    "AGGREGATE_HEALTH",
    "CHECK_DESCRIPTIONS",
    "CHUNK_HEALTH",
    "JOB_HEALTH",
    "SENSOR_CHECKS",
    "Finding",
    "health_checks",
    "observe",
]

CHECK_DESCRIPTIONS = {
    CHUNK_HEALTH: "Chunks or partitions are as the policies say: old chunks compressed, expired "
    "ones dropped, partitions made ahead, no rows in the future or in a default partition.",
    JOB_HEALTH: "The policy has exactly one job on the server, scheduled, not failing or overdue.",
    AGGREGATE_HEALTH: "The aggregate (a materialized view on plain PostgreSQL) holds every source "
    "row its refresh schedule should have aggregated, and its last complete bucket matches the "
    "raw table.",
}
SENSOR_CHECKS = {
    "chunk_health_sensor": (CHUNK_HEALTH, JOB_HEALTH),
    "aggregate_health_sensor": (AGGREGATE_HEALTH,),
}


def health_checks(obj: SchemaObject) -> list[str]:
    """The health checks an object has, besides `in_sync`."""
    if obj.kind == ObjectKind.HYPERTABLE or is_range_partitioned(obj):
        return [CHUNK_HEALTH]
    if obj.kind in POLICY_PROCS.values():
        return [JOB_HEALTH]
    if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE:
        return [AGGREGATE_HEALTH]
    return []


def observe(session: Session, graph: SchemaGraph, checks: set[str], now: datetime) -> list[Finding]:
    """Findings of the given checks on every object that has them.

    On plain PostgreSQL the TimescaleDB objects have no native chunks or jobs: they
    are reported as not applicable (passed), the way their materializations are; a
    continuous aggregate is judged as its materialized view.
    """
    found: list[Finding] = []
    timescale = tc.installed(session)
    if CHUNK_HEALTH in checks:
        found += partition_findings(session, graph, now)
        if timescale:
            found += timescale_chunk_findings(session, graph, now)
    if JOB_HEALTH in checks and timescale:
        found += timescale_job_findings(session, graph, now)
    if AGGREGATE_HEALTH in checks:
        found += aggregate_findings(session, graph, now, timescale=timescale)
    seen = {(f.key, f.check) for f in found}
    for obj in graph:
        for check in health_checks(obj):
            if check in checks and (obj.key, check) not in seen:
                reason = (
                    "not applicable on this engine: no TimescaleDB"
                    if obj.is_timescale and not timescale
                    else "not partitioned on the server"
                )
                found.append(
                    Finding(obj.key, check, [] if obj.is_timescale else [reason],
                            {"reason": reason}, fix=obj.key if not obj.is_timescale else None)
                )  # fmt: skip
    return found
