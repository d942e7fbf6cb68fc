"""The rules that turn a hypertable declaration into native range partitions (README
"Partition width"), and the range arithmetic partition upkeep leans on: no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from platform_assets.execute.partition_rules import (
    DEFAULT_PREMAKE,
    MAX_PARTITIONS,
    choose_width,
    integer_width,
    partition_settings,
)
from platform_assets.execute.partitions import integer_bounds, range_bounds, uncovered
from platform_assets.model.intervals import interval_seconds

# --------------------------------------------------------------- partition width


def test_one_hour_chunks_kept_90_days_give_daily_partitions():
    assert choose_width("1 hour", "90 days", DEFAULT_PREMAKE) == "1 day"
    # 95 partitions at steady state: 90 kept, the current one, 4 ahead.
    assert 90 + 1 + DEFAULT_PREMAKE == 95 <= MAX_PARTITIONS


def test_one_day_chunks_kept_365_days_give_weekly_partitions():
    assert choose_width("1 day", "365 days", DEFAULT_PREMAKE) == "7 days"


@pytest.mark.parametrize(
    "chunk, width",
    [
        ("1 hour", "1 day"),
        ("1 day", "1 day"),
        ("2 days", "7 days"),
        ("7 days", "7 days"),
        ("8 days", "1 month"),
        ("1 month", "1 month"),
        ("2 months", "1 year"),
        ("1 year", "1 year"),
        (3_600_000_000, "1 day"),  # integer microseconds, as create_hypertable takes them
    ],
)
def test_the_chunk_interval_is_rounded_up_to_a_day_a_week_a_month_or_a_year(chunk, width):
    assert choose_width(chunk, None, DEFAULT_PREMAKE) == width


def test_a_partition_is_never_wider_than_a_year():
    assert choose_width("2 years", None, DEFAULT_PREMAKE) == "1 year"
    assert choose_width("1 day", "1000 years", DEFAULT_PREMAKE) == "1 year"


def test_without_a_chunk_interval_the_width_starts_at_a_day():
    assert choose_width(None, None, DEFAULT_PREMAKE) == "1 day"


def test_the_width_grows_until_at_most_100_partitions_are_kept():
    # 90 kept + the current one + premake: 100 fits, 101 does not.
    assert choose_width("1 day", "90 days", 9) == "1 day"
    assert choose_width("1 day", "90 days", 10) == "7 days"
    # 10 years: weekly would keep 522, monthly 122, yearly 10.
    assert choose_width("1 day", "10 years", DEFAULT_PREMAKE) == "1 year"


def test_a_hypertable_rendered_natively_takes_the_width_rule_and_its_retention(project):
    project.write(
        "sql/m.sql",
        "CREATE SCHEMA m;\n"
        "CREATE TABLE m.readings (ts timestamptz NOT NULL, value float8);\n"
        "SELECT create_hypertable('m.readings', by_range('ts', INTERVAL '1 hour'));\n"
        "SELECT add_retention_policy('m.readings', drop_after => INTERVAL '90 days');\n",
    )
    graph = project.graph()
    settings = partition_settings(graph.relation("m", "readings"), graph)
    assert interval_seconds(settings.pop("retention")) == 90 * 86400
    assert settings == {"partition_interval": "1 day", "premake": "4", "lookback": "4"}


def test_an_annotation_overrides_width_premake_and_lookback(project):
    project.write(
        "sql/m.sql",
        "CREATE SCHEMA m;\n"
        "CREATE TABLE m.readings (ts timestamptz NOT NULL, value float8);\n"
        '-- platform: partition_interval="1 month" premake=7 lookback=2\n'
        "SELECT create_hypertable('m.readings', by_range('ts', INTERVAL '1 hour'));\n",
    )
    graph = project.graph()
    settings = partition_settings(graph.relation("m", "readings"), graph)
    assert settings["partition_interval"] == "1 month"
    assert (settings["premake"], settings["lookback"]) == ("7", "2")
    assert "retention" not in settings


def test_lookback_defaults_to_premake(project):
    project.write(
        "sql/m.sql",
        "CREATE SCHEMA m;\n"
        "CREATE TABLE m.readings (ts timestamptz NOT NULL, value float8);\n"
        "-- platform: premake=2\n"
        "SELECT create_hypertable('m.readings', by_range('ts', INTERVAL '1 day'));\n",
    )
    graph = project.graph()
    settings = partition_settings(graph.relation("m", "readings"), graph)
    assert (settings["premake"], settings["lookback"]) == ("2", "2")


def test_a_declared_partitioned_table_takes_its_annotation_as_written(project):
    project.write(
        "sql/log.sql",
        "CREATE SCHEMA log;\n"
        '-- platform: partition_interval="1 month" premake=13 retention="6 months"\n'
        "CREATE TABLE log.entries (id int NOT NULL, at timestamptz NOT NULL, "
        "PRIMARY KEY (id, at)) PARTITION BY RANGE (at);\n",
    )
    graph = project.graph()
    settings = partition_settings(graph.relation("log", "entries"), graph)
    assert settings == {"partition_interval": "1 month", "premake": "13", "retention": "6 months"}


# ------------------------------------------------------------------ range arithmetic


def day(n: int) -> datetime:
    return datetime(2026, 1, n, tzinfo=UTC)


def test_nothing_covers_a_range_without_partitions():
    assert uncovered(day(1), day(5), []) == [(day(1), day(5))]


def test_a_range_inside_one_partition_is_covered():
    assert uncovered(day(2), day(3), [(day(1), day(5))]) == []


def test_the_gaps_between_partitions_are_uncovered_in_order():
    ranges = [(day(8), day(10)), (day(1), day(3)), (day(4), day(6))]
    assert uncovered(day(1), day(10), ranges) == [(day(3), day(4)), (day(6), day(8))]


def test_overlapping_partitions_leave_no_gap():
    assert uncovered(day(1), day(6), [(day(1), day(4)), (day(2), day(6))]) == []


def test_partitions_outside_the_range_cover_nothing_of_it():
    outside = [(day(1), day(2)), (day(9), day(10))]
    assert uncovered(day(3), day(5), outside) == [(day(3), day(5))]


def test_an_unbounded_side_covers_everything_beyond_it():
    assert uncovered(day(1), day(9), [(None, day(4))]) == [(day(4), day(9))]
    assert uncovered(day(1), day(9), [(day(4), None)]) == [(day(1), day(4))]
    assert uncovered(day(1), day(9), [(None, None)]) == []


def test_range_bounds_are_read_from_the_partition_constraint():
    constraint = (
        "((at IS NOT NULL) AND (at >= '2026-01-01 00:00:00+00'::timestamp with time zone) "
        "AND (at < '2026-01-02 00:00:00+00'::timestamp with time zone))"
    )
    assert range_bounds(constraint) == (day(1), day(2))


def test_a_date_bound_is_midnight_utc():
    constraint = "((d IS NOT NULL) AND (d >= '2026-01-01'::date) AND (d < '2026-02-01'::date))"
    assert range_bounds(constraint) == (day(1), datetime(2026, 2, 1, tzinfo=UTC))


def test_a_partition_from_minvalue_has_no_lower_bound():
    constraint = "((at IS NOT NULL) AND (at < '2026-01-02 00:00:00+00'::timestamp with time zone))"
    assert range_bounds(constraint) == (None, day(2))


def test_bounds_that_are_not_instants_are_unbounded():
    assert range_bounds("((id IS NOT NULL) AND (id >= 0) AND (id < 100))") == (None, None)
    assert range_bounds(None) == (None, None)


def test_integer_time_bounds_read_as_integers():
    constraint = "((ts IS NOT NULL) AND (ts >= '86400000'::bigint) AND (ts < '172800000'::bigint))"
    assert integer_bounds(constraint) == (86400000, 172800000)
    assert integer_bounds("((id >= '-5'::integer) AND (id < 0))") == (-5, 0)
    assert integer_bounds(None) == (None, None)


def test_integer_width_is_the_chunk_interval_widened_to_at_most_100_partitions():
    assert integer_width(86400000, None, 4) == 86400000
    assert integer_width(86400000, 604800000, 4) == 86400000  # 7 kept + 1 + 4
    assert integer_width(10, 10_000, 4) == 160  # 10 doubled until ceil(10000/w) + 5 <= 100
