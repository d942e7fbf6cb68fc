"""Which results a run records: events in proportion to what changed.

A run that finds an object as declared records nothing for it, so the cost of a run
follows the change, not the size of the schema, and an asset's last materialization is
the last time the platform changed it (or first saw it, or saw it under new SQL). Its
`in_sync` result is recorded when it changed, when applying it failed, when its last
recorded result was not a pass (so a failure fixed by hand is seen fixed), and by every
check-only run (`verify_schema`). Otherwise the run leaves the check planned and not
executed, which Dagster shows as skipped, and the last evaluation stands: Dagster's asset
health reads the last completed evaluation behind a skipped one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg
from dagster._core.definitions.data_version import CODE_VERSION_TAG


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


def recorded_code_version(materialization: dg.AssetMaterialization | None) -> str | None:
    return materialization.tags.get(CODE_VERSION_TAG) if materialization else None


def records_materialization(
    asset_key: dg.AssetKey,
    changed: bool,
    code_version: str | None,
    recorded: Mapping[dg.AssetKey, dg.AssetMaterialization],
) -> bool:
    """Whether a materialization is recorded: the object changed, or the asset has none
    yet, or its last one was of other SQL (so the UI's code version is not stale)."""
    last = recorded.get(asset_key)
    return changed or last is None or recorded_code_version(last) != code_version


def last_passed_checks(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]
) -> set[dg.AssetCheckKey]:
    """The checks whose last completed evaluation passed.

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
        return set()
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        summaries = storage.get_asset_check_summary_records(keys)
        return {
            key
            for key, summary in summaries.items()
            if summary.last_completed_check_execution_record is not None
            and summary.last_completed_check_execution_record.status
            == AssetCheckExecutionRecordStatus.SUCCEEDED
        }
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
    query = db.select(table.c.asset_key, table.c.check_name).where(
        table.c.id.in_(db.select(latest.c.id)),
        table.c.execution_status == AssetCheckExecutionRecordStatus.SUCCEEDED.value,
    )
    wanted = set(keys)
    with storage.index_connection() as conn:
        rows = conn.execute(query).fetchall()
    passed = {
        dg.AssetCheckKey(dg.AssetKey.from_db_string(asset_key), name) for asset_key, name in rows
    }
    return passed & wanted
