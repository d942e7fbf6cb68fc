"""Which type changes are applied without asking (README: widening keeps every value and
cannot fail) and which are refused as possibly losing data: no database."""

from __future__ import annotations

import pytest

from platform_assets.diff.table_columns import is_widening

# (live type as the catalog spells it, declared type as a schema file may spell it)
WIDENING = [
    ("character varying(50)", "varchar(100)"),
    ("character varying(50)", "character varying(50)"),
    ("character varying(50)", "text"),
    ("character varying(50)", "varchar"),
    ("smallint", "integer"),
    ("smallint", "bigint"),
    ("integer", "bigint"),
    ("int2", "int8"),
    ("numeric(10,2)", "numeric(12,2)"),
    ("numeric(10,2)", "numeric(11,3)"),
    ("numeric(10,2)", "numeric"),
    ("real", "double precision"),
    ("float4", "float8"),
    ("real", "float"),  # float without a precision is double precision
]
NARROWING_OR_CONVERTING = [
    ("character varying(50)", "varchar(5)"),
    ("text", "varchar(100)"),
    ("character varying", "varchar(10)"),
    ("bigint", "integer"),
    ("integer", "smallint"),
    ("numeric(10,2)", "numeric(10,3)"),  # one integer digit fewer
    ("numeric(10,2)", "numeric(12,1)"),  # scale shrinks
    ("numeric", "numeric(10,2)"),
    ("double precision", "real"),
    ("integer", "text"),
    ("text", "integer"),
    ("integer", "numeric"),
    ("timestamp without time zone", "timestamptz"),
    ("integer", "no_such_type("),  # unreadable: never taken for a widening
]


@pytest.mark.parametrize("old, new", WIDENING, ids=[f"{o}->{n}" for o, n in WIDENING])
def test_widening_is_applied(old, new):
    assert is_widening(old, new)


@pytest.mark.parametrize(
    "old, new", NARROWING_OR_CONVERTING, ids=[f"{o}->{n}" for o, n in NARROWING_OR_CONVERTING]
)
def test_any_other_type_change_is_not_a_widening(old, new):
    assert not is_widening(old, new)
