"""Which completing statements change only an object's owner, privileges or comment."""

from __future__ import annotations

import pytest
import sqlglot

from platform_assets.parse.commands import AccessChange, access_change
from platform_assets.parse.dialect import DIALECT


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ('ALTER TABLE shop."X" OWNER TO "Big Role"', AccessChange("owner", "Big Role")),
        ("ALTER FUNCTION f(integer) OWNER TO Reader", AccessChange("owner", "reader")),
        ("ALTER LARGE OBJECT 16384 OWNER TO CURRENT_USER", AccessChange("owner", "CURRENT_USER")),
        ("GRANT SELECT ON LARGE OBJECT 16384 TO reader", AccessChange("grant")),
        ("GRANT SELECT ON shop.t TO reader", AccessChange("grant")),
        ("REVOKE ALL ON SCHEMA public FROM PUBLIC", AccessChange("grant")),
        ("COMMENT ON COLUMN shop.t.a IS 'x'", AccessChange("comment")),
        ("ALTER TABLE t RENAME COLUMN owner TO holder", None),
        ("ALTER TABLE t ALTER COLUMN a SET STORAGE EXTERNAL", None),
    ],
)
def test_access_statements_are_told_from_other_completions(text: str, change):
    tree = sqlglot.parse_one(text, read=DIALECT)
    tokens = sqlglot.tokenize(text, read=DIALECT)
    assert access_change(tokens, type(tree).__name__) == change
