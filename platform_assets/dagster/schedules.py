"""Jobs and schedules the platform ships: the daily verification of every check.

Schedules start stopped; an operator turns them on in the UI or with
`dagster schedule start <name>`, and the daemon runs them.
"""

from __future__ import annotations

import dagster as dg

from platform_assets import settings
from platform_assets.dagster.naming import InstanceNames


def build_verify_schema(
    checks: dg.AssetSelection | None = None, names: InstanceNames | None = None
) -> tuple[dg.UnresolvedAssetJobDefinition, dg.ScheduleDefinition]:
    """The `verify_schema` job (checks alone: it reads the catalog and changes nothing)
    and its daily schedule (a deployment may verify more often: PLATFORM_VERIFY_SCHEDULE).

    `checks` are the instance's own (default: every check of the code location)."""
    names = names or InstanceNames()
    job = dg.define_asset_job(
        names("verify_schema"),
        selection=checks if checks is not None else dg.AssetSelection.all_asset_checks(),
        description="Run every asset check (drift, seeds) without materializing anything.",
    )
    schedule = dg.ScheduleDefinition(
        name=names("verify_schema_schedule"),
        job=job,
        cron_schedule=settings.verify_schedule(),
        description="Daily: every asset check against the live database.",
    )
    return job, schedule
