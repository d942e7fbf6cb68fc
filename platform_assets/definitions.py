"""Everything the platform gives Dagster: `defs`, loaded by `workspace.yaml` and the CLI."""

from __future__ import annotations

import dagster as dg

from platform_assets.assets import build_schema_assets
from platform_assets.backfill import build_aggregate_backfill
from platform_assets.compiler import compile_directory
from platform_assets.embedded import project_root
from platform_assets.maintenance import (
    PartitionClock,
    build_partition_maintenance,
    build_refresh_schedules,
)
from platform_assets.resources import database_from_environment
from platform_assets.schedules import verify_schema_job, verify_schema_schedule
from platform_assets.sensors import build_health_fix_job, build_health_sensors


def build_definitions() -> dg.Definitions:
    root = project_root()
    graph = compile_directory(root / "sql", root)
    maintenance_job, maintenance_schedule = build_partition_maintenance(graph)
    refresh_jobs, refresh_schedules = build_refresh_schedules(graph)
    backfill_jobs, backfill_schedules = build_aggregate_backfill(graph)
    # The runs the health sensors request: these exact definitions, so the daemon finds them.
    fix_job = build_health_fix_job(graph)
    return dg.Definitions(
        assets=[build_schema_assets(graph)],
        jobs=[verify_schema_job, maintenance_job, fix_job, *refresh_jobs, *backfill_jobs],
        schedules=[
            verify_schema_schedule,
            maintenance_schedule,
            *refresh_schedules,
            *backfill_schedules,
        ],
        sensors=build_health_sensors(graph, fix_job=fix_job, refresh_jobs=refresh_jobs),
        resources={"database": database_from_environment(), "partition_clock": PartitionClock()},
        # The schema graph is one step; in-process avoids a process start per step.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
