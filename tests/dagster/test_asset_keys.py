"""Any identifier PostgreSQL accepts maps to a valid, stable, readable, distinct asset key."""

from __future__ import annotations

import dagster as dg

from platform_assets.dagster.assets import build_schema_assets
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.translator import asset_key_part
from tests.support.databases import TestDatabase
from tests.support.project import Project
from tests.support.runs import materializations, materialize

NAMES = ["plain_name", "Customer Accounts", "customer accounts", "bıgınt", "bgnt", "===", "a" * 63]


def test_key_parts_are_valid_readable_stable_and_distinct():
    parts = [asset_key_part(name) for name in NAMES]
    assert parts[0] == "plain_name"  # a name Dagster accepts is kept as it is
    assert parts[1].startswith("Customer_Accounts_")
    assert parts[5].startswith("eq_eq_eq_")
    assert len(set(parts)) == len(parts)
    assert parts == [asset_key_part(name) for name in NAMES]  # stable
    for part in parts:
        dg.AssetKey(["public", part])  # and valid (the definitions below load)


def test_quoted_and_non_ascii_names_load_and_materialize(database: TestDatabase, project: Project):
    project.write(
        "sql/names.sql",
        'CREATE DOMAIN public."bıgınt" AS bigint CHECK (VALUE > 0);\n'
        'CREATE TABLE public."Customer Accounts" (id public."bıgınt" PRIMARY KEY);\n'
        'CREATE TABLE public."customer accounts" (id int);\n'
        'CREATE INDEX ON public."Customer Accounts" (id);\n',
    )
    graph = project.graph()
    assets = build_schema_assets(graph)
    resources = {"database": SchemaDatabase(url=database.url)}
    dg.Definitions(assets=[assets], resources=resources).resolve_asset_graph()  # or it raises
    keys = {spec.key for spec in assets.specs}
    assert len(keys) == len(graph)
    real_names = {spec.metadata["object_name"] for spec in assets.specs}
    assert "table public.Customer Accounts" in real_names
    assert "domain public.bıgınt" in real_names
    assert materialize(graph, database.url).success
    assert (
        database.value("SELECT count(*) FROM pg_class WHERE relname ILIKE 'customer accounts'") == 2
    )
    second = materializations(materialize(graph, database.url))
    assert all(meta["statements_executed"] == 0 for meta in second.values())
