"""The daemon: `dagster-daemon` with the shipped `dagster.yaml` (QueuedRunCoordinator on
dagster-postgres storage) ticks `chunk_health_sensor` and runs the verification schedule,
and both succeed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
)

from tests.support.cli import dagster_cli
from tests.support.project import REPO

SCHEDULE = "verify_schema_schedule"
SENSOR = "chunk_health_sensor"


@pytest.fixture
def instance_env(database, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """A Dagster home with the project's dagster.yaml, storage in its own database."""
    storage = f"{database.name}_dagster"
    database.cluster.create_database(storage)
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    settings = {
        "PLATFORM_DATABASE_URL": database.url,
        "PLATFORM_DAGSTER_STORAGE_URL": database.cluster.url(storage),
        "DAGSTER_HOME": str(tmp_path),
        # Every minute, so a tick comes during the test.
        "PLATFORM_VERIFY_SCHEDULE": "* * * * *",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def test_daemon_runs_the_verification_schedule(instance_env, tmp_path):
    materialized = dagster_cli(
        "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*",
        env=instance_env,
    )  # fmt: skip
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    for kind, name in (("schedule", SCHEDULE), ("sensor", SENSOR)):
        started = dagster_cli(kind, "start", "-w", "workspace.yaml", name, env=instance_env)
        assert started.returncode == 0, started.stdout + started.stderr

    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        env=instance_env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    try:
        deadline = time.monotonic() + 180
        runs = []
        while time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/schedule_name": SCHEDULE}))
            if any(run.is_finished for run in runs) and sensor_ticks(instance):
                break
            time.sleep(2)
        assert runs, (
            "no scheduled run within 180 s: " + (tmp_path / "daemon.log").read_text()[-3000:]
        )
        run = next(run for run in runs if run.is_finished)
        assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
        assert run.job_name == "verify_schema"
        ticks = sensor_ticks(instance)
        # The evaluation the sensor reported on the natively partitioned table.
        check = dg.AssetCheckKey(dg.AssetKey(["scheduler", "message_logs"]), "chunk_health")
        # The latest completed one: a scheduled run that has only planned the check may
        # have started since.
        (latest,) = instance.event_log_storage.get_asset_check_execution_history(
            check, limit=1, status=COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES
        )
        sensor_evaluation = latest.event.dagster_event.asset_check_evaluation_data
        evaluations = [
            record.event_log_entry.dagster_event.asset_check_evaluation_data
            for record in instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
        ]
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        log.close()
        instance.dispose()
    assert len(evaluations) > 150
    assert all(e.passed for e in evaluations), [e.asset_key for e in evaluations if not e.passed]
    # A healthy database: every tick read it and requested no fix, so Dagster records it
    # as skipped, with the sensor's summary as the reason.
    assert ticks
    for tick in ticks:
        assert tick.status in (TickStatus.SUCCESS, TickStatus.SKIPPED), tick.error
        assert tick.error is None and not tick.run_ids
        assert tick.skip_reason.endswith(" healthy, 0 unhealthy, 0 fix(es) requested")
    assert sensor_evaluation.passed, sensor_evaluation


def sensor_ticks(instance: dg.DagsterInstance) -> list:
    state = next((s for s in instance.all_instigator_state() if s.name == SENSOR), None)
    if state is None:
        return []
    return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))
