"""Intervals as declarations spell them, read without a database: the partition width rule
(`interval_seconds`) and the linter (`parse_interval`) must read them alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_assets.execute.partition_rules import interval_seconds
from platform_assets.lint.rules import parse_interval

DAY = 86400.0

# Spellings of TimescaleDB parameters and `INTERVAL '...'` literals; a month is 30 days.
SPELLINGS = {
    "1 hour": 3600.0,
    "1 HOUR": 3600.0,
    "90 days": 90 * DAY,
    "90 DAYS": 90 * DAY,
    "7 days": 7 * DAY,
    "1 day": DAY,
    "2 weeks": 14 * DAY,
    "1 month": 30 * DAY,
    "6 months": 180 * DAY,
    "1 year": 365 * DAY,
    "30 minutes": 1800.0,
    "15 seconds": 15.0,
    "1 day 2 hours": DAY + 7200.0,
}


@pytest.mark.parametrize("text, seconds", SPELLINGS.items(), ids=list(SPELLINGS))
def test_both_readers_agree_on_the_declared_spellings(text, seconds):
    assert interval_seconds(text) == seconds
    assert parse_interval(text) == timedelta(seconds=seconds)


def test_the_width_rule_reads_clock_forms_and_microseconds():
    assert interval_seconds("1 day 12:00:00") == 1.5 * DAY
    assert interval_seconds("00:30:00") == 1800.0
    assert interval_seconds("01:00") == 3600.0
    # An integer chunk interval is microseconds, as create_hypertable takes it.
    assert interval_seconds(3_600_000_000) == 3600.0


def test_the_width_rule_refuses_an_unreadable_interval():
    with pytest.raises(ValueError, match="unreadable interval '1 soon'"):
        interval_seconds("1 soon")


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "1 fortnight", 7])
def test_the_linter_reads_nothing_from_what_is_not_an_interval(value):
    assert parse_interval(value) is None


def test_the_linter_reads_a_quoted_literal():
    assert parse_interval("'7 days'") == timedelta(days=7)
