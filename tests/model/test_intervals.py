"""Intervals as declarations spell them, read without a database (the length the partition
width rule, upkeep grace and refresh crons are computed from)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_assets.model.intervals import interval_duration, interval_seconds

DAY = 86400.0

# Spellings of TimescaleDB parameters and `INTERVAL '...'` literals; a month is 30 days.
SPELLINGS = {
    "1 hour": 3600.0,
    "1 HOUR": 3600.0,
    "90 days": 90 * DAY,
    "90 DAYS": 90 * DAY,
    "1 day": DAY,
    "2 weeks": 14 * DAY,
    "1 month": 30 * DAY,
    "6 months": 180 * DAY,
    "1 year": 365 * DAY,
    "30 minutes": 1800.0,
    "15 seconds": 15.0,
    "1 day 2 hours": DAY + 7200.0,
    "1 day 12:00:00": 1.5 * DAY,
    "00:30:00": 1800.0,
    "01:00": 3600.0,
}


@pytest.mark.parametrize("text, seconds", SPELLINGS.items(), ids=list(SPELLINGS))
def test_declared_spellings_are_read_as_their_length(text, seconds):
    assert interval_seconds(text) == seconds


def test_an_integer_is_microseconds_as_create_hypertable_takes_it():
    assert interval_seconds(3_600_000_000) == 3600.0


def test_an_unreadable_interval_is_refused_naming_it():
    with pytest.raises(ValueError, match="unreadable interval '1 soon'"):
        interval_seconds("1 soon")


def test_a_quoted_literal_reads_as_its_text():
    assert interval_seconds("'7 days'") == 7 * DAY


def test_a_duration_only_for_a_readable_nonzero_text():
    assert interval_duration("90 DAYS") == timedelta(days=90)
    assert interval_duration(1000) is None  # integer time: no duration
    assert interval_duration("soon") is None
    assert interval_duration("0 days") is None
