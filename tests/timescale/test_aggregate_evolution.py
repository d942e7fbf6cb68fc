"""A continuous aggregate whose query changed is rebuilt under another name, filled, and
swapped in with its data, on both engines; on TimescaleDB a rebuild that cannot recompute
history (its raw rows are gone) is refused until allowed, which drops and recreates it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from platform_assets.diff.aggregates import REBUILD_SUFFIX
from tests.support.cli import plan, statements
from tests.support.databases import query
from tests.support.runs import allow, failure_message, in_sync, materializations, materialize

AGGREGATE = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA {schema};
CREATE TABLE {schema}.readings (ts timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('{schema}.readings', by_range('ts', INTERVAL '1 day'));
CREATE MATERIALIZED VIEW {schema}.hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, {measures}
    FROM {schema}.readings GROUP BY 1, 2 WITH NO DATA;
SELECT add_continuous_aggregate_policy('{schema}.hourly', start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
"""
COUNT = "count(*) AS n"
COUNT_AND_SUM = "count(*) AS n, sum(value) AS total"
# The new query over the raw rows (date_bin: also on plain PostgreSQL, same hours).
RAW = (
    "SELECT date_bin(INTERVAL '1 hour', ts, '2000-01-03') AS bucket, device, count(*) AS n, "
    "sum(value) AS total FROM {schema}.readings GROUP BY 1, 2 ORDER BY 1, 2"
)


def write(project, schema: str, measures: str) -> None:
    project.write(f"sql/{schema}.sql", AGGREGATE.format(schema=schema, measures=measures))


def fill(url: str, schema: str, refresh: str) -> None:
    """Two devices, a row every 10 minutes over the last two days, aggregated."""
    query(
        url,
        f"INSERT INTO {schema}.readings SELECT t, d, d * 2 FROM generate_series("
        "now() - INTERVAL '2 days', now() - INTERVAL '2 hours', INTERVAL '10 minutes') t, "
        "generate_series(1, 2) d",
    )
    query(url, refresh)


def rebuilt_and_swapped(project, url: str, schema: str) -> dict:
    """Change the query (a new measure), check the plan, materialize; the new aggregate
    holds the raw numbers under the old name and nothing is left behind."""
    write(project, schema, COUNT_AND_SUM)
    planned = plan(project, SimpleNamespace(url=url))
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert f"{schema}/hourly: updated" in planned.stdout
    assert any(f"{schema}.hourly{REBUILD_SUFFIX}" in s for s in statements(planned))

    result = materialize(project.graph(), url)
    done = materializations(result)[f"{schema}/hourly"]
    assert done["action"] == "updated"
    assert "swapped in" in done["rebuilt"]
    assert in_sync(result, f"{schema}/hourly").passed
    assert query(url, f"SELECT * FROM {schema}.hourly ORDER BY 1, 2") == query(
        url, RAW.format(schema=schema)
    )
    leftover = query(url, f"SELECT to_regclass('{schema}.hourly{REBUILD_SUFFIX}') AS r")
    assert leftover == [{"r": None}]
    again = materializations(materialize(project.graph(), url))
    assert again[f"{schema}/hourly"]["action"] == "unchanged"
    assert again[f"{schema}/hourly"]["statements_executed"] == 0
    return done


def test_changed_aggregate_query_is_rebuilt_and_swapped_on_postgres(project, database):
    write(project, "pg", COUNT)
    materialize(project.graph(), database.url)
    fill(database.url, "pg", "REFRESH MATERIALIZED VIEW pg.hourly")
    assert len(query(database.url, "SELECT * FROM pg.hourly")) > 90

    rebuilt_and_swapped(project, database.url, "pg")
    # Still refreshable without blocking readers: its unique group index came along.
    query(database.url, "INSERT INTO pg.readings VALUES (now() - INTERVAL '3 hours', 3, 5)")
    query(database.url, "REFRESH MATERIALIZED VIEW CONCURRENTLY pg.hourly")
    assert query(database.url, "SELECT n, total FROM pg.hourly WHERE device = 3") == [
        {"n": 1, "total": 5.0}
    ]


def refresh_jobs(url: str, schema: str) -> list[dict]:
    return query(
        url,
        "SELECT job_id, config FROM timescaledb_information.jobs WHERE proc_name = "
        f"'policy_refresh_continuous_aggregate' AND hypertable_schema = '{schema}'",
    )


@pytest.mark.timescaledb
def test_changed_aggregate_query_is_rebuilt_and_swapped_on_timescaledb(project, server_url):
    write(project, "ts", COUNT)
    materialize(project.graph(), server_url)
    fill(server_url, "ts", "CALL refresh_continuous_aggregate('ts.hourly', NULL, NULL)")

    rebuilt_and_swapped(project, server_url, "ts")
    # The refresh policy came back with the swapped-in aggregate, as declared.
    [job] = refresh_jobs(server_url, "ts")
    assert job["config"]["start_offset"] == "3 days"


@pytest.mark.timescaledb
def test_rebuild_that_would_lose_aggregated_history_is_refused_until_allowed(project, server_url):
    write(project, "hist", COUNT)
    materialize(project.graph(), server_url)
    fill(server_url, "hist", "CALL refresh_continuous_aggregate('hist.hourly', NULL, NULL)")
    # Retention drops the raw rows of the first day; the aggregate keeps their buckets.
    query(server_url, "SELECT drop_chunks('hist.readings', older_than => now() - INTERVAL '1 day')")
    [kept] = query(
        server_url,
        "SELECT count(*) AS n FROM hist.hourly "
        "WHERE bucket < (SELECT time_bucket(INTERVAL '1 hour', min(ts)) FROM hist.readings)",
    )
    assert kept["n"] > 0
    before = query(server_url, "SELECT * FROM hist.hourly ORDER BY 1, 2")

    write(project, "hist", COUNT_AND_SUM)
    refused = materialize(project.graph(), server_url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert f"loses {kept['n']} aggregated row(s)" in message
    assert "sql/hist.sql:5: continuous aggregate hist.hourly" in message
    assert '"allow_destructive": ["hist/hourly"]' in message
    assert query(server_url, "SELECT * FROM hist.hourly ORDER BY 1, 2") == before

    allowed = materialize(project.graph(), server_url, run_config=allow("hist/hourly"))
    done = materializations(allowed)["hist/hourly"]
    assert done["rebuilt"] == "dropped and recreated (allowed destructive changes)"
    assert query(server_url, "SELECT * FROM hist.hourly ORDER BY 1, 2") == query(
        server_url, RAW.format(schema="hist")
    )
    assert len(refresh_jobs(server_url, "hist")) == 1
