"""Continuous aggregates rendered for plain PostgreSQL: the refresh job's cron from the
refresh policy's schedule_interval, the group key and its index name; no database."""

from __future__ import annotations

import pytest

from platform_assets.execute.rollups import (
    MAX_IDENTIFIER,
    cron_for,
    group_index_name,
    group_key,
)
from platform_assets.model.errors import SchemaError


@pytest.mark.parametrize(
    "interval, cron",
    [
        ("1 minute", "* * * * *"),
        ("5 minutes", "*/5 * * * *"),
        ("15 minutes", "*/15 * * * *"),
        ("30 minutes", "*/30 * * * *"),
        ("1 hour", "0 * * * *"),
        ("6 hours", "0 */6 * * *"),
        ("12 hours", "0 */12 * * *"),
        ("1 day", "0 0 * * *"),
        (3_600_000_000, "0 * * * *"),  # microseconds
    ],
)
def test_an_interval_that_divides_the_hour_or_day_is_its_cron(interval, cron):
    assert cron_for(interval) == cron


@pytest.mark.parametrize(
    "interval, cron",
    [
        ("30 seconds", "* * * * *"),
        ("7 minutes", "*/6 * * * *"),
        ("90 minutes", "0 * * * *"),
        ("5 hours", "0 */4 * * *"),
        ("7 days", "0 0 * * *"),
    ],
)
def test_an_interval_cron_cannot_spell_runs_more_often_never_less(interval, cron):
    assert cron_for(interval) == cron


def test_without_a_schedule_interval_the_job_runs_hourly():
    assert cron_for(None) == "0 * * * *"


AGGREGATE = """\
CREATE SCHEMA m;
CREATE TABLE m.readings (ts timestamptz NOT NULL, device int NOT NULL, value float8);
CREATE MATERIALIZED VIEW m.{name} WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n
    FROM m.readings {group};
"""


def aggregate(project, name: str = "hourly", group: str = "GROUP BY 1, 2"):
    project.write("sql/m.sql", AGGREGATE.format(name=name, group=group))
    return project.graph().relation("m", name)


def test_the_group_key_is_the_grouped_output_columns(project):
    assert group_key(aggregate(project)) == ["bucket", "device"]
    assert group_key(aggregate(project, group="GROUP BY bucket, device")) == ["bucket", "device"]


def test_an_aggregate_without_group_by_is_refused_with_its_location(project):
    with pytest.raises(SchemaError, match="without GROUP BY") as error:
        group_key(aggregate(project, group=""))
    assert "sql/m.sql:3" in str(error.value)


def test_the_group_index_name_fits_a_postgres_identifier(project):
    assert group_index_name(aggregate(project)) == "hourly_group_key"
    long = aggregate(project, name="v" * 63)
    name = group_index_name(long)
    assert len(name) == MAX_IDENTIFIER and name.endswith("_group_key")
    assert group_index_name(long, "swap") == "swap_group_key"
