"""`chunk_health_sensor` and `aggregate_health_sensor`: health as asset check evaluations.

Each tick observes the database (a fixed number of catalog queries, see health/)
and reports one evaluation per object it concerns, so the UI shows a hypertable,
policy or aggregate as unhealthy. Where the fix is mechanical it also requests the
run that fixes it, at most once an hour per fix: a run of `health_fix` materializing
the fixing asset (create missing partitions, recreate a dropped job), or a run of an
aggregate's `refresh_<schema>__<view>` job (refresh a stale aggregate). A database
that is down or a missing table is reported, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg
import psycopg

from platform_assets.dagster.maintenance import build_refresh_schedules
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.health import SENSOR_CHECKS, Finding, observe
from platform_assets.model.graph import SchemaGraph

HEALTH_FIX_JOB = "health_fix"


def build_health_fix_job(
    graph: SchemaGraph, translator: SchemaTranslator | None = None
) -> dg.UnresolvedAssetJobDefinition:
    """The asset job the sensors launch to materialize a fixing asset (a subset per run)."""
    translator = translator or SchemaTranslator()
    return dg.define_asset_job(
        translator.names(HEALTH_FIX_JOB),
        selection=dg.AssetSelection.assets(*(translator.get_asset_key(obj) for obj in graph)),
        description="Materialize the schema asset a health sensor found broken; each run "
        "selects only the asset it fixes.",
    )


def build_health_sensors(
    graph: SchemaGraph,
    translator: SchemaTranslator | None = None,
    fix_job: dg.UnresolvedAssetJobDefinition | None = None,
    refresh_jobs: Sequence[dg.JobDefinition] | None = None,
) -> list[dg.SensorDefinition]:
    """Both health sensors. Pass the same `fix_job` and `refresh_jobs` given to the
    Definitions (built here when omitted)."""
    translator = translator or SchemaTranslator()
    fix_job = fix_job or build_health_fix_job(graph, translator)
    if refresh_jobs is None:
        refresh_jobs, _ = build_refresh_schedules(graph, translator)
    jobs = [fix_job, *refresh_jobs]
    return [
        _health_sensor(translator.names(name), set(checks), graph, translator, jobs)
        for name, checks in SENSOR_CHECKS.items()
    ]


def _health_sensor(
    name: str,
    checks: set[str],
    graph: SchemaGraph,
    translator: SchemaTranslator,
    jobs: list[dg.JobDefinition | dg.UnresolvedAssetJobDefinition],
) -> dg.SensorDefinition:
    names = translator.names

    @dg.sensor(
        name=name,
        minimum_interval_seconds=300,
        jobs=jobs,
        description=f"Reports {', '.join(sorted(checks))} on the assets they concern; "
        "requests the run that fixes what is mechanical.",
        required_resource_keys={names.database},
    )
    def health_sensor(context: dg.SensorEvaluationContext, **_resources: object):
        # (Invoked directly, Dagster also passes the required resources as keywords.)
        now = datetime.now(UTC)
        try:
            with names.database_of(context).session() as session:
                findings = observe(session, graph, checks, now)
        except psycopg.Error as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            return dg.SkipReason(f"database unreachable or unreadable: {message}")
        evaluations = [_evaluation(f, translator.get_asset_key(graph[f.key])) for f in findings]
        unhealthy = [f for f in findings if not f.passed]
        asset_fixes = sorted({f.fix for f in unhealthy if f.fix is not None})
        job_fixes = sorted({f.fix_job for f in unhealthy if f.fix_job is not None})
        summary = (
            f"{len(findings) - len(unhealthy)} healthy, {len(unhealthy)} unhealthy, "
            f"{len(asset_fixes) + len(job_fixes)} fix(es) requested"
        )
        context.log.info(summary)
        hour = f"{now:%Y%m%d%H}"
        run_requests = [
            dg.RunRequest(
                run_key=f"{name}:{'/'.join(fix)}:{hour}",
                job_name=names(HEALTH_FIX_JOB),
                asset_selection=[translator.get_asset_key(graph[fix])],
                tags={"platform/fix": "/".join(fix), "platform/sensor": name},
            )
            for fix in asset_fixes
        ] + [
            dg.RunRequest(
                run_key=f"{name}:{job}:{hour}",
                job_name=names(job),
                tags={"platform/fix": job, "platform/sensor": name},
            )
            for job in job_fixes
        ]
        return dg.SensorResult(
            asset_events=evaluations,
            run_requests=run_requests,
            # Shown on the tick when there is nothing to run.
            skip_reason=None if run_requests else summary,
        )

    return health_sensor


def _evaluation(finding: Finding, asset_key: dg.AssetKey) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=finding.check,
        passed=finding.passed,
        description=finding.description,
        metadata=finding.dagster_metadata,
    )
