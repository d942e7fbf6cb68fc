"""`chunk_health_sensor` and `aggregate_health_sensor`: health as asset check evaluations.

Each tick observes the database (a fixed number of catalog queries, see health.py)
and reports one evaluation per object it concerns, so the UI shows a hypertable,
policy or aggregate as unhealthy. Where the fix is mechanical (create missing
partitions, recreate a dropped job, refresh a lagging aggregate) it also requests
the run that materializes the fixing asset, at most once an hour per fix. A
database that is down or a missing table is reported, never raised.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import psycopg

from platform_assets.compiler import SchemaGraph
from platform_assets.health import SENSOR_CHECKS, Finding, observe
from platform_assets.resources import SchemaDatabase
from platform_assets.translator import SchemaTranslator


def build_health_sensors(
    graph: SchemaGraph, translator: SchemaTranslator | None = None
) -> list[dg.SensorDefinition]:
    translator = translator or SchemaTranslator()
    return [
        _health_sensor(name, set(checks), graph, translator)
        for name, checks in SENSOR_CHECKS.items()
    ]


def _health_sensor(
    name: str, checks: set[str], graph: SchemaGraph, translator: SchemaTranslator
) -> dg.SensorDefinition:
    keys = [translator.get_asset_key(obj) for obj in graph]

    @dg.sensor(
        name=name,
        minimum_interval_seconds=300,
        target=keys,
        description=f"Reports {', '.join(sorted(checks))} on the assets they concern; "
        "requests the run that fixes what is mechanical.",
    )
    def health_sensor(context: dg.SensorEvaluationContext, database: SchemaDatabase):
        now = datetime.now(UTC)
        try:
            with database.session() as session:
                findings = observe(session, graph, checks, now)
        except psycopg.Error as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            return dg.SkipReason(f"database unreachable or unreadable: {message}")
        evaluations = [_evaluation(f, translator.get_asset_key(graph[f.key])) for f in findings]
        fixes = sorted({f.fix for f in findings if not f.passed and f.fix is not None})
        summary = (
            f"{sum(f.passed for f in findings)} healthy, "
            f"{sum(not f.passed for f in findings)} unhealthy, {len(fixes)} fix(es) requested"
        )
        context.log.info(summary)
        run_requests = [
            dg.RunRequest(
                run_key=f"{name}:{'/'.join(fix)}:{now:%Y%m%d%H}",
                asset_selection=[translator.get_asset_key(graph[fix])],
                tags={"platform/fix": "/".join(fix), "platform/sensor": name},
            )
            for fix in fixes
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
