"""Asset checks: does the live database still match what `sql/` declares?

`in_sync` runs on every asset. It asks the engine what it would execute for
the object (a dry run, rolled back: the same code a materialization runs) and,
for tables, compares the live columns with the declared ones as the server
itself renders them (columns.py: a scratch copy of the declared columns, in the
same rolled-back transaction), so a column altered by hand shows up even where
the engine would not touch it.
"""

from __future__ import annotations

import dagster as dg

from platform_assets.dagster.recording import LIVE_STATE
from platform_assets.diff.columns import column_differences
from platform_assets.execute.engines import PostgresEngine
from platform_assets.execute.runner import Runner
from platform_assets.health import CHECK_DESCRIPTIONS, health_checks
from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import ObjectKind, SchemaObject

IN_SYNC = "in_sync"


def check_specs(obj: SchemaObject, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """`in_sync` on every asset, and the health checks (health/) where they apply."""
    return [
        dg.AssetCheckSpec(
            name=IN_SYNC,
            asset=asset_key,
            description="The live database matches the declaration (no pending change, no "
            "hand-made difference).",
        ),
        *(
            dg.AssetCheckSpec(name=name, asset=asset_key, description=CHECK_DESCRIPTIONS[name])
            for name in health_checks(obj)
        ),
    ]


def evaluate_in_sync(
    obj: SchemaObject,
    runner: Runner,
    asset_key: dg.AssetKey,
    engine: PostgresEngine,
    fingerprint: bool = False,
) -> dg.AssetCheckResult:
    """`in_sync` of one object: the runner's dry run of it (as `engine`, the one of its
    place in the run), and for tables the columns. With `fingerprint` (the asset's last
    materialization is of its current SQL), a pass records its fingerprint as `live_state`
    (execute/fingerprints.py), so that a later run finding the same takes it as in place."""
    pending: list[str] = []
    differences: list[str] = []
    with runner.fingerprints.taking(obj, engine) as taken, runner.rolled_back(engine=engine):
        if obj.kind == ObjectKind.TABLE:
            differences = column_differences(obj, runner.session)
        try:
            outcome = runner.apply(obj)
            pending = [str(statement.sql) for statement in outcome.executed]
            not_applicable = outcome.reason
        except SchemaError as error:
            differences.append(f"applying it would fail: {error.message}")
            not_applicable = None
    passed = not pending and not differences
    metadata: dict[str, object] = {
        "differences": dg.MetadataValue.json(differences),
        "pending_sql": dg.MetadataValue.md(
            "```sql\n" + "\n".join(s.rstrip(";") + ";" for s in pending) + "\n```"
            if pending
            else "(none)"
        ),
    }
    if not_applicable:
        metadata["engine_note"] = not_applicable
    if passed and fingerprint and taken.fingerprint is not None:
        metadata[LIVE_STATE] = dg.MetadataValue.json(taken.fingerprint.as_json())
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=IN_SYNC,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if passed else "; ".join(differences + pending)[:1000],
        metadata=metadata,
    )


def failed_in_sync(asset_key: dg.AssetKey, error: SchemaError) -> dg.AssetCheckResult:
    """`in_sync` of an object whose materialization failed: it is not as declared."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=IN_SYNC,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"applying it failed: {error.message}"[:1000],
        metadata={"differences": dg.MetadataValue.json([f"applying it failed: {error.message}"])},
    )
