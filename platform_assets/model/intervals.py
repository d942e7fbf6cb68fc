"""Intervals as declarations spell them, and the one reader of their length.

TimescaleDB takes an interval text (`'1 hour'`, `'90 days'`, `'1 day 12:00:00'`) or,
for an integer time column, an integer in the column's own units.
"""

from __future__ import annotations

from datetime import timedelta

# An interval as declared: its text, or an integer for integer time.
Interval = str | int

DAY = 86400.0
_UNIT_SECONDS = {
    "microsecond": 1e-6,
    "millisecond": 1e-3,
    "second": 1.0,
    "minute": 60.0,
    "hour": 3600.0,
    "day": DAY,
    "week": 7 * DAY,
    "month": 30 * DAY,
    "year": 365 * DAY,
}


def interval_seconds(value: object) -> float:
    """An interval ('1 HOUR', '90 days', '1 day 12:00:00', or an integer number of
    microseconds) in seconds; a month counts 30 days. ValueError when unreadable."""
    if isinstance(value, int | float):
        return float(value) / 1e6
    words = str(value).replace("'", " ").lower().split()
    total, index = 0.0, 0
    while index < len(words):
        word = words[index]
        if ":" in word:  # hh:mm[:ss]
            parts = [float(p) for p in word.split(":")]
            total += sum(p * f for p, f in zip(parts, (3600.0, 60.0, 1.0), strict=False))
            index += 1
            continue
        amount = float(word)
        unit = words[index + 1].rstrip("s") if index + 1 < len(words) else ""
        if unit not in _UNIT_SECONDS:
            raise ValueError(f"unreadable interval {value!r}")
        total += amount * _UNIT_SECONDS[unit]
        index += 2
    return total


def interval_duration(value: object) -> timedelta | None:
    """An interval text as a timedelta; None for integer time, an empty, zero or
    unreadable text (a rule over durations then does not apply)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        seconds = interval_seconds(value)
    except ValueError:
        return None
    return timedelta(seconds=seconds) if seconds else None
