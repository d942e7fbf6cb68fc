"""The UI's conventions read from the declaration alone: table name, code references,
column schema with comments, owners."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_assets.dagster.assets import build_schema_assets
from platform_assets.model.errors import SchemaError

SCHEMA = """\
CREATE SCHEMA shop;

-- platform: owners=team:storefront,ada@example.com
CREATE TABLE shop.customers (
    id bigint,
    email varchar(320) NOT NULL UNIQUE,
    note text,
    PRIMARY KEY (id)
);
COMMENT ON COLUMN shop.customers.email IS 'Where receipts go';
CREATE VIEW shop.active AS SELECT id FROM shop.customers;
CREATE INDEX idx_customers_note ON shop.customers (note);
"""


def specs(project) -> dict[str, dg.AssetSpec]:
    assets = build_schema_assets(project.graph())
    return {spec.key.to_user_string(): spec for spec in assets.specs}


def test_table_carries_name_source_columns_comments_and_owners(project):
    schema_file = project.write("sql/shop.sql", SCHEMA)
    project.write("seeds/shop/customers.csv", "id,email\n1,ada@example.com\n")
    found = specs(project)

    table = found["shop/customers"]
    assert table.metadata["dagster/table_name"] == "shop.customers"
    reference = table.metadata["dagster/code_references"].code_references[0]
    assert (reference.file_path, reference.line_number) == (str(schema_file), 4)
    columns = {c.name: c for c in table.metadata["dagster/column_schema"].columns}
    assert [(c.type, c.constraints.nullable) for c in columns.values()] == [
        ("bigint", False),
        ("varchar(320)", False),
        ("text", True),
    ]
    assert columns["email"].description == "Where receipts go"
    assert columns["email"].constraints.unique
    assert set(table.owners) == {"team:storefront", "ada@example.com"}

    view = found["shop/active"]
    assert view.metadata["dagster/table_name"] == "shop.active"
    assert "dagster/column_schema" not in view.metadata
    assert "dagster/table_name" not in found["shop/customers/idx_customers_note"].metadata

    seed = found["shop/seed/customers"]
    assert seed.metadata["dagster/table_name"] == "shop.customers"
    assert [c.name for c in seed.metadata["dagster/column_schema"].columns] == ["id", "email"]
    seed_reference = seed.metadata["dagster/code_references"].code_references[0]
    assert seed_reference.file_path.endswith("seeds/shop/customers.csv")
    assert set(seed.owners) == set(table.owners)


def test_an_owner_that_is_neither_email_nor_team_fails_naming_file_and_line(project):
    project.write(
        "sql/shop.sql",
        "CREATE SCHEMA shop;\n-- platform: owners=storefront\nCREATE TABLE shop.t (id int);\n",
    )
    with pytest.raises(SchemaError, match=r"sql/shop.sql:3: table shop.t: owner 'storefront'"):
        specs(project)
