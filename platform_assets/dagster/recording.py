"""Which results a run records: events in proportion to what changed.

A run that finds an object as declared records nothing for it, so the cost of a run
follows the change, not the size of the schema, and an asset's last materialization is
the last time the platform changed it (or first saw it, or saw it under new SQL). Its
`in_sync` result is recorded when it changed, when applying it failed, when its last
recorded result was not a pass (so a failure fixed by hand is seen fixed), and by every
check-only run (`verify_schema`). Otherwise the run leaves the check planned and not
executed, which Dagster shows as skipped, and the last evaluation stands: Dagster's asset
health reads the last completed evaluation behind a skipped one. A passing in_sync result
also carries its fingerprint (`live_state`, execute/fingerprints.py), read back here so a
run can take an object its last check saw as in place without comparing it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import dagster as dg
from dagster._core.definitions.data_version import CODE_VERSION_TAG

# The metadata entry of a passing in_sync result that holds its fingerprint.
LIVE_STATE = "live_state"


def recorded_materializations(
    instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey]
) -> dict[dg.AssetKey, dg.AssetMaterialization]:
    """Each asset's last materialization, in one storage query; an asset never
    materialized is absent."""
    recorded: dict[dg.AssetKey, dg.AssetMaterialization] = {}
    keys = list(asset_keys)
    if not keys:  # a check-only run; no keys would mean every asset to the storage
        return recorded
    for record in instance.get_asset_records(keys):
        entry = record.asset_entry.last_materialization
        materialization = entry.asset_materialization if entry else None
        if materialization is not None:
            recorded[record.asset_entry.asset_key] = materialization
    return recorded


class RecordedMaterializations:
    """Assets' last materializations: those of `asset_keys` read in one storage query,
    any other asset's when first asked for (an asset found in place needs none)."""

    def __init__(self, instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey]):
        self.instance = instance
        keys = set(asset_keys)
        self._found = recorded_materializations(instance, keys)
        self._read = keys

    def get(self, asset_key: dg.AssetKey) -> dg.AssetMaterialization | None:
        if asset_key not in self._read:
            self._found.update(recorded_materializations(self.instance, [asset_key]))
            self._read.add(asset_key)
        return self._found.get(asset_key)


def recorded_code_version(materialization: dg.AssetMaterialization | None) -> str | None:
    return materialization.tags.get(CODE_VERSION_TAG) if materialization else None


def records_materialization(
    asset_key: dg.AssetKey,
    changed: bool,
    code_version: str | None,
    recorded: RecordedMaterializations,
) -> bool:
    """Whether a materialization is recorded: the object changed, or the asset has none
    yet, or its last one was of other SQL (so the UI's code version is not stale)."""
    last = recorded.get(asset_key)
    return changed or last is None or recorded_code_version(last) != code_version


def last_passed_checks(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]
) -> dict[dg.AssetCheckKey, Any]:
    """The checks whose last completed evaluation passed, each with the value of that
    evaluation's `live_state` metadata (None without one).

    One query on SQL storages (each run plans its checks before it starts, so the latest
    execution is this run's own and the completed one before it is what counts);
    Dagster's per-check summaries elsewhere.
    """
    # Imported here: SQLAlchemy and the storage tables cost every definitions load 0.6 s.
    import sqlalchemy as db
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )
    from dagster._core.storage.event_log import SqlEventLogStorage
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

    keys = list(check_keys)
    if not keys:
        return {}
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        summaries = storage.get_asset_check_summary_records(keys)
        passed: dict[dg.AssetCheckKey, Any] = {}
        for key, summary in summaries.items():
            record = summary.last_completed_check_execution_record
            if record is None or record.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
                continue
            evaluation = record.event.asset_check_evaluation if record.event else None
            state = evaluation.metadata.get(LIVE_STATE) if evaluation else None
            passed[key] = state.value if state is not None else None
        return passed
    table = AssetCheckExecutionsTable
    completed = [
        AssetCheckExecutionRecordStatus.SUCCEEDED.value,
        AssetCheckExecutionRecordStatus.FAILED.value,
    ]
    latest = (
        db.select(db.func.max(table.c.id).label("id"))
        .where(
            table.c.asset_key.in_([key.asset_key.to_string() for key in keys]),
            table.c.check_name.in_({key.name for key in keys}),
            table.c.execution_status.in_(completed),
        )
        .group_by(table.c.asset_key, table.c.check_name)
        .subquery()
    )
    query = db.select(table.c.asset_key, table.c.check_name, table.c.evaluation_event).where(
        table.c.id.in_(db.select(latest.c.id)),
        table.c.execution_status == AssetCheckExecutionRecordStatus.SUCCEEDED.value,
    )
    wanted = set(keys)
    with storage.index_connection() as conn:
        rows = conn.execute(query).fetchall()
    passed = {
        dg.AssetCheckKey(dg.AssetKey.from_db_string(asset_key), name): _live_state(event)
        for asset_key, name, event in rows
    }
    return {key: state for key, state in passed.items() if key in wanted}


def _live_state(evaluation_event: str | None) -> Any:
    """The `live_state` metadata of a stored evaluation event, read as plain JSON (the
    whole event through Dagster's deserializer would cost a no-op run a third of a
    millisecond an asset); None when it has none or is stored otherwise."""
    if not evaluation_event or LIVE_STATE not in evaluation_event:
        return None
    try:
        metadata = json.loads(evaluation_event)["dagster_event"]["event_specific_data"]["metadata"]
        return metadata[LIVE_STATE]["data"]
    except (KeyError, TypeError, ValueError):
        return None
