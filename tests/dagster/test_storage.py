"""Dagster's storage as `dagster.yaml` ships it: a full run of the five systems opens a
handful of storage connections, counted by the PostgreSQL server, not one per event, and
the webserver serves that run from the same storage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import psycopg
import yaml

from platform_assets.dagster.storage import (
    DEFAULT_EVENT_BATCH_SIZE,
    EVENT_BATCH_VARIABLE,
    PooledPostgresStorage,
)
from platform_assets.live.embedded import free_port
from tests.support.cli import dagster_cli
from tests.support.project import REPO


def storage_sessions(maintenance_url: str, storage: str) -> int:
    """Sessions the server has opened on the storage database, once all of them ended.

    A backend adds its session to pg_stat_database before it leaves pg_stat_activity, so
    waiting for the database to have no backends makes the count final.
    """
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (storage,)
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "storage connections still open after the run"
            time.sleep(0.05)
        return conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (storage,)
        ).fetchone()[0]


def test_a_full_run_opens_a_handful_of_storage_connections(database, tmp_path):
    storage = f"{database.name}_dagster"
    database.cluster.create_database(storage)
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    config = yaml.safe_load((tmp_path / "dagster.yaml").read_text())["storage"]["custom"]
    assert config["class"] == PooledPostgresStorage.__name__
    bound = config["config"]["pool_size"] + config["config"]["max_overflow"]
    env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": database.url,
        "PLATFORM_DAGSTER_STORAGE_URL": database.cluster.url(storage),
        "DAGSTER_HOME": str(tmp_path),
    }
    env.pop("PLATFORM_PROJECT_DIR", None)
    # Counted from another database, so these reads are not among the sessions counted.
    maintenance_url = database.url
    assert storage_sessions(maintenance_url, storage) == 0

    result = dagster_cli(
        "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*", env=env
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]

    opened = storage_sessions(maintenance_url, storage)
    with psycopg.connect(database.cluster.url(storage), autocommit=True) as conn:
        events = conn.execute("SELECT count(*) FROM event_logs").fetchone()[0]
    # Unpooled, dagster-postgres opens one connection per event (and more per check).
    assert events > 500
    assert 1 <= opened <= bound, f"{opened} storage connections for {events} events"

    # The webserver, unchanged, on the same dagster.yaml: it lists the run.
    assert [run["status"] for run in webserver_runs(env, tmp_path)] == ["SUCCESS"]


RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status } } } }"


def webserver_runs(env: dict[str, str], home: Path) -> list[dict]:
    """The runs `dagster-webserver` reports over GraphQL for the instance in `home`."""
    port = free_port()
    log = (home / "webserver.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver")]
        + ["-m", "platform_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": RUNS_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.load(response)["data"]["runsOrError"]["results"]
            except OSError:
                assert server.poll() is None, (home / "webserver.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the webserver did not answer in 120 s"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@dg.asset
def plain_asset() -> None:
    return None


@dg.asset_check(asset=plain_asset)
def plain_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-01-01"))
def daily_asset() -> None:
    return None


@dg.asset_check(asset=daily_asset)
def daily_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def stored_rows(url: str) -> dict[str, list[tuple]]:
    """What a storage holds of its runs, less ids and times."""
    queries = {
        "events": "SELECT dagster_event_type, asset_key, partition FROM event_logs",
        "assets": "SELECT asset_key, last_run_id IS NOT NULL,"
        " last_materialization_timestamp IS NOT NULL FROM asset_keys",
        "checks": "SELECT asset_key, check_name, partition, execution_status,"
        " evaluation_event_storage_id IS NOT NULL FROM asset_check_executions",
    }
    with psycopg.connect(url) as conn:
        return {
            name: sorted(conn.execute(query).fetchall(), key=repr)
            for name, query in queries.items()
        }


def test_planned_events_in_a_batch_are_stored_as_upstream_stores_them(
    database, tmp_path, monkeypatch
):
    """Each run plans an asset and its check (partitioned in the second run): the pooled
    storage writes them as one batch, dagster-postgres one by one; both store the same."""
    monkeypatch.delenv(EVENT_BATCH_VARIABLE, raising=False)  # the storage sets it
    stored = {}
    for name, storage in [
        ("upstream", {"postgres": {"postgres_url": "{url}"}}),
        ("pooled", {"custom": {"module": "platform_assets.dagster.storage",
                               "class": PooledPostgresStorage.__name__,
                               "config": {"postgres_url": "{url}"}}}),
    ]:  # fmt: skip
        url = database.cluster.url(f"{database.name}_{name}")
        database.cluster.create_database(f"{database.name}_{name}")
        home = tmp_path / name
        home.mkdir()
        text = yaml.safe_dump({"storage": storage}).replace("{url}", url)
        (home / "dagster.yaml").write_text(text)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert dg.materialize([plain_asset, plain_check], instance=instance).success
            assert dg.materialize(
                [daily_asset, daily_check], instance=instance, partition_key="2026-01-02"
            ).success
        stored[name] = stored_rows(url)
    assert os.environ[EVENT_BATCH_VARIABLE] == str(DEFAULT_EVENT_BATCH_SIZE)
    assert stored["pooled"] == stored["upstream"]
