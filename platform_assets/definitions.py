"""Everything the platform gives Dagster: `defs`, loaded by `workspace.yaml` and the CLI."""

from __future__ import annotations

import dagster as dg

from platform_assets.assets import build_schema_assets
from platform_assets.compiler import compile_directory
from platform_assets.embedded import project_root
from platform_assets.resources import database_from_environment
from platform_assets.schedules import (
    partition_maintenance,
    verify_schema_job,
    verify_schema_schedule,
)
from platform_assets.sensors import build_health_sensors


def build_definitions() -> dg.Definitions:
    root = project_root()
    graph = compile_directory(root / "sql", root)
    maintenance_jobs, maintenance_schedules = partition_maintenance(graph)
    return dg.Definitions(
        assets=[build_schema_assets(graph)],
        jobs=[verify_schema_job, *maintenance_jobs],
        schedules=[verify_schema_schedule, *maintenance_schedules],
        sensors=build_health_sensors(graph),
        resources={"database": database_from_environment()},
        # The schema graph is one step; in-process avoids a process start per step.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
