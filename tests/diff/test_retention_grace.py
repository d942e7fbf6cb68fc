"""How long plain PostgreSQL upkeep lets an expired partition wait before dropping it
counts as a shortened retention (README: a week, or two partition widths when wider)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_assets.diff.retention import grace


@pytest.mark.parametrize(
    "width, expected",
    [
        ("1 day", timedelta(days=7)),
        ("7 days", timedelta(days=14)),
        ("1 month", timedelta(days=60)),
        ("1 year", timedelta(days=730)),
    ],
)
def test_grace_is_a_week_or_two_partition_widths(width, expected):
    assert grace(width) == expected
