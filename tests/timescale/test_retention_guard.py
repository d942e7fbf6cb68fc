"""Shortening retention so that existing rows would be dropped is refused with their count
until allowed per object, on TimescaleDB (the policy's job keeps its old setting) and on
plain PostgreSQL (the partitions stay), in materializations and in partition upkeep."""

from __future__ import annotations

import pytest

from platform_assets.dagster.maintenance import PartitionClock, build_partition_maintenance
from platform_assets.dagster.resources import SchemaDatabase
from tests.support.databases import query
from tests.support.runs import allow, failure_message, materializations, materialize

# One row every day for 60 days, each at midday between two day boundaries.
SIXTY_DAYS = (
    "INSERT INTO {table} SELECT now() - INTERVAL '12 hours' - n * INTERVAL '1 day', 'x' "
    "FROM generate_series(0, 59) n"
)


PARTITIONED = """\
CREATE SCHEMA keep;
-- platform: partition_interval="1 day" premake=2 lookback=60 retention="{retention}"
CREATE TABLE keep.events (at timestamptz NOT NULL, body text) PARTITION BY RANGE (at);
"""


def partition_count(url: str) -> int:
    return query(
        url, "SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'keep.events'::regclass"
    )[0]["n"]


def test_shortened_retention_of_partitions_is_refused_until_allowed(project, database):
    project.write("sql/keep.sql", PARTITIONED.format(retention="90 days"))
    materialize(project.graph(), database.url)
    query(database.url, SIXTY_DAYS.format(table="keep.events"))
    partitions = partition_count(database.url)
    assert partitions >= 60
    # A daily partition ends at the next UTC midnight: those holding rows older than
    # these days expired a week (the grace) or more before now - 30 days, or at all.
    overdue, expired = (
        query(
            database.url,
            "SELECT count(*) AS n FROM keep.events "
            f"WHERE at < date_trunc('day', now() - INTERVAL '{days} days', 'UTC')",
        )[0]["n"]
        for days in (37, 30)
    )
    assert overdue >= 20

    project.write("sql/keep.sql", PARTITIONED.format(retention="30 days"))
    graph = project.graph()
    refused = materialize(graph, database.url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "sql/keep.sql:3: table keep.events" in message
    assert f"dropping {overdue} partition(s) of keep.events" in message
    assert f"loses {overdue} row(s)" in message
    assert '"allow_destructive": ["keep/events"]' in message
    assert partition_count(database.url) == partitions

    # Partition upkeep refuses the same, unless its op is allowed.
    job, _ = build_partition_maintenance(graph)
    resources = {"database": SchemaDatabase(url=database.url), "partition_clock": PartitionClock()}
    upkeep = job.execute_in_process(resources=resources, raise_on_error=False)
    assert not upkeep.success
    assert partition_count(database.url) == partitions

    allowed = materialize(graph, database.url, run_config=allow("keep/events"))
    done = materializations(allowed)["keep/events"]
    assert len(done["partitions_dropped"]) >= expired  # the empty lookback ones too
    assert f"loses {overdue} row(s)" in done["destructive_changes"][0]
    rows = query(database.url, "SELECT count(*) AS n FROM keep.events")[0]["n"]
    assert rows == 60 - expired
    # A later upkeep finds nothing overdue: allowed only for that run, and not needed.
    assert job.execute_in_process(resources=resources).success


HYPERTABLE = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA ret;
CREATE TABLE ret.readings (ts timestamptz NOT NULL, body text);
SELECT create_hypertable('ret.readings', by_range('ts', INTERVAL '7 days'));
SELECT add_retention_policy('ret.readings', drop_after => INTERVAL '{retention}');
"""


def retention_job(url: str) -> dict:
    [job] = query(
        url,
        "SELECT job_id, config FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_retention' AND hypertable_schema = 'ret'",
    )
    return job


@pytest.mark.timescaledb
def test_shortened_retention_policy_is_refused_with_its_row_count_until_allowed(
    project, server_url
):
    project.write("sql/ret.sql", HYPERTABLE.format(retention="90 days"))
    materialize(project.graph(), server_url)
    query(server_url, SIXTY_DAYS.format(table="ret.readings"))
    job = retention_job(server_url)

    project.write("sql/ret.sql", HYPERTABLE.format(retention="30 days"))
    refused = materialize(project.graph(), server_url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "sql/ret.sql:5: retention policy of ret.readings" in message
    stated = message.split("from 90 days to 30 days drops ")[1]
    lost = int(stated.split(" row(s) (the chunks older than 30 days)")[0])
    assert 0 < lost <= 30  # whole 7-day chunks: not every row older than 30 days
    assert retention_job(server_url) == job

    allowed = materialize(
        project.graph(), server_url, run_config=allow("ret/readings/retention_policy")
    )
    done = materializations(allowed)["ret/readings/retention_policy"]
    assert done["action"] == "updated"
    assert retention_job(server_url) == {
        **job,
        "config": {**job["config"], "drop_after": "30 days"},
    }
    # The job drops exactly the rows the refusal counted.
    query(server_url, f"CALL run_job({job['job_id']})")
    assert query(server_url, "SELECT count(*) AS n FROM ret.readings")[0]["n"] == 60 - lost

    # Keeping rows longer loses nothing: applied without being allowed.
    project.write("sql/ret.sql", HYPERTABLE.format(retention="120 days"))
    longer = materializations(materialize(project.graph(), server_url))
    assert longer["ret/readings/retention_policy"]["action"] == "updated"
    assert retention_job(server_url)["config"]["drop_after"] == "120 days"
