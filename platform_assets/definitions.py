"""Everything the platform gives Dagster: `defs`, loaded by `workspace.yaml` and the CLI."""

from __future__ import annotations

import dagster as dg

from platform_assets.dagster.assets import build_schema_assets
from platform_assets.dagster.backfill import build_aggregate_backfill
from platform_assets.dagster.maintenance import (
    PartitionClock,
    build_partition_maintenance,
    build_refresh_schedules,
)
from platform_assets.dagster.resources import database_from_environment
from platform_assets.dagster.schedules import build_verify_schema
from platform_assets.dagster.sensors import build_health_fix_job, build_health_sensors
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.live.embedded import project_root
from platform_assets.parse.cache import compile_project


def build_definitions(translator: SchemaTranslator | None = None) -> dg.Definitions:
    """The definitions of `sql/`; every asset is named by `translator` (one instance)."""
    translator = translator or SchemaTranslator()
    # Parsed once per change of sql/ or seeds/, not once per process.
    graph = compile_project(project_root())
    verify_schema_job, verify_schema_schedule = build_verify_schema()
    maintenance_job, maintenance_schedule = build_partition_maintenance(graph, translator)
    refresh_jobs, refresh_schedules = build_refresh_schedules(graph, translator)
    backfill_jobs, backfill_schedules = build_aggregate_backfill(graph, translator)
    # The runs the health sensors request: these exact definitions, so the daemon finds them.
    fix_job = build_health_fix_job(graph, translator)
    return dg.Definitions(
        assets=[build_schema_assets(graph, translator)],
        jobs=[verify_schema_job, maintenance_job, fix_job, *refresh_jobs, *backfill_jobs],
        schedules=[
            verify_schema_schedule,
            maintenance_schedule,
            *refresh_schedules,
            *backfill_schedules,
        ],
        sensors=build_health_sensors(graph, translator, fix_job=fix_job, refresh_jobs=refresh_jobs),
        resources={"database": database_from_environment(), "partition_clock": PartitionClock()},
        # The schema graph is one step; in-process avoids a process start per step.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
