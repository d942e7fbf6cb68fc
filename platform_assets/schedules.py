"""Jobs and schedules the platform ships: the daily verification of every check, and
the daily upkeep of natively partitioned tables.

Schedules start stopped; an operator turns them on in the UI or with
`dagster schedule start <name>`, and the daemon runs them.
"""

from __future__ import annotations

import os

import dagster as dg

from platform_assets.compiler import SchemaGraph
from platform_assets.health import is_range_partitioned
from platform_assets.translator import SchemaTranslator

# Checks alone: a verification run reads the catalog and changes nothing.
verify_schema_job = dg.define_asset_job(
    "verify_schema",
    selection=dg.AssetSelection.all_asset_checks(),
    description="Run every asset check (drift, seeds) without materializing anything.",
)

verify_schema_schedule = dg.ScheduleDefinition(
    name="verify_schema_schedule",
    job=verify_schema_job,
    # A deployment may verify more often than daily.
    cron_schedule=os.environ.get("PLATFORM_VERIFY_SCHEDULE", "0 3 * * *"),
    description="Daily: every asset check against the live database.",
)


def partition_maintenance(
    graph: SchemaGraph, translator: SchemaTranslator | None = None
) -> tuple[list[dg.UnresolvedAssetJobDefinition], list[dg.ScheduleDefinition]]:
    """`partition_maintenance` (materialize every natively partitioned table: create the
    partitions due, drop the expired) and `partition_maintenance_schedule`, daily at
    01:00; none when no table is partitioned."""
    translator = translator or SchemaTranslator()
    keys = [translator.get_asset_key(obj) for obj in graph if is_range_partitioned(obj)]
    if not keys:
        return [], []
    job = dg.define_asset_job(
        "partition_maintenance",
        selection=dg.AssetSelection.assets(*keys).without_checks()
        | dg.AssetSelection.checks_for_assets(*keys),
        description="Create the partitions due and drop the expired ones, then check them.",
    )
    schedule = dg.ScheduleDefinition(
        name="partition_maintenance_schedule",
        job=job,
        cron_schedule="0 1 * * *",
        description="Daily: partition upkeep of every natively partitioned table.",
    )
    return [job], [schedule]
