"""Jobs and schedules the platform ships: the daily verification of every check.

Schedules start stopped; an operator turns them on in the UI or with
`dagster schedule start <name>`, and the daemon runs them.
"""

from __future__ import annotations

import os

import dagster as dg

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
