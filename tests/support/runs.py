"""Runs through Dagster in-process, and what a run reported."""

from __future__ import annotations

import logging
from collections.abc import Callable

import dagster as dg

from platform_assets.dagster.assets import build_schema_assets
from platform_assets.dagster.maintenance import build_refresh_schedules
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.model.graph import SchemaGraph


def materialize(
    graph: SchemaGraph,
    url: str,
    selection: list[str] | None = None,
    raise_on_error: bool = True,
    run_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize a graph (or a selection of asset keys like 'demo/users') in-process;
    `run_config` e.g. {"ops": {"schema_objects": {"config": {"allow_destructive": [...]}}}}.
    Each run has a fresh instance unless one is given (to see what earlier runs recorded)."""
    assets = build_schema_assets(graph)
    selected = [dg.AssetKey(key.split("/")) for key in selection] if selection is not None else None
    return dg.materialize(
        [assets],
        resources={"database": SchemaDatabase(url=url)},
        selection=selected,
        raise_on_error=raise_on_error,
        run_config=run_config,
        instance=instance,
    )


def allow(*keys: str) -> dict:
    """Run config allowing the destructive changes of these asset keys."""
    return {"ops": {"schema_objects": {"config": {"allow_destructive": list(keys)}}}}


def verify(
    graph: SchemaGraph, url: str, instance: dg.DagsterInstance | None = None
) -> dict[str, dg.AssetCheckEvaluation]:
    """A checks-only run, as the verification schedule does it."""
    result = dg.materialize(
        [build_schema_assets(graph)],
        resources={"database": SchemaDatabase(url=url)},
        selection=dg.AssetSelection.all_asset_checks(),
        instance=instance,
    )
    assert result.asset_materializations_for_node("schema_objects") == []
    return {"/".join(e.asset_key.path): e for e in result.get_asset_check_evaluations()}


def run_refresh_job(graph: SchemaGraph, url: str, name: str) -> dg.ExecuteInProcessResult:
    """An aggregate's refresh job (the run a health sensor requests for it), executed."""
    jobs, _ = build_refresh_schedules(graph)
    job = next(j for j in jobs if j.name == name)
    result = job.execute_in_process(resources={"database": SchemaDatabase(url=url)})
    assert result.success
    return result


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Asset key path -> its materialization metadata values."""
    found: dict[str, dict] = {}
    for materialization in result.asset_materializations_for_node("schema_objects"):
        found["/".join(materialization.asset_key.path)] = {
            name: getattr(value, "value", value) for name, value in materialization.metadata.items()
        }
    return found


def in_sync(result: dg.ExecuteInProcessResult, key: str) -> dg.AssetCheckEvaluation:
    """The `in_sync` check evaluation of one asset key in a run."""
    return next(
        e
        for e in result.get_asset_check_evaluations()
        if "/".join(e.asset_key.path) == key and e.check_name == "in_sync"
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The first step failure's error, with its causes."""
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "the run did not fail"
    return str(failures[0].step_failure_data.error)


def materialize_logged(
    graph: SchemaGraph,
    url: str,
    on_log: Callable[[str], None],
    run_config: dict | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """`materialize`, handing every message the run logs to `on_log` as it is logged
    (so a test can act on a log line, e.g. the first retry)."""

    class Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            on_log(record.getMessage())

    @dg.logger
    def forward(_init_context: dg.InitLoggerContext) -> logging.Logger:
        log = logging.Logger("platform_tests", level=logging.DEBUG)
        log.addHandler(Forward())
        return log

    defs = dg.Definitions(
        assets=[build_schema_assets(graph)],
        resources={"database": SchemaDatabase(url=url)},
        loggers={"forward": forward},
    )
    job = defs.resolve_implicit_global_asset_job_def()
    config = {**(run_config or {}), "loggers": {"forward": {}}}
    return job.execute_in_process(run_config=config, raise_on_error=raise_on_error)
