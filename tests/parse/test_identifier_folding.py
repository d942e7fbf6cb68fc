"""Names read as PostgreSQL reads them: unquoted ones fold to lower case, quoted ones stay,
in trees, in regclass strings and in search_path; no database."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import (
    Name,
    fold_identifiers,
    name_identifier,
    regclass_name,
)
from tests.support.project import Project


def test_a_tree_folds_unquoted_names_and_keeps_quoted_ones():
    tree = fold_identifiers(
        sqlglot.parse_one(
            'SELECT R.Value, M.MyFunc(1) FROM M.READINGS R JOIN M."Readings" Q ON TRUE',
            read=DIALECT,
        )
    )
    tables = [(t.db, t.name) for t in tree.find_all(exp.Table)]
    assert tables == [("m", "readings"), ("m", "Readings")]
    assert [c.name for c in tree.find_all(exp.Anonymous)] == ["myfunc"]
    assert [c.sql(DIALECT) for c in tree.find_all(exp.Column)] == ["r.value"]


def test_regclass_strings_fold_as_the_server_reads_them():
    assert regclass_name("M.Readings") == Name("m", "readings")
    assert regclass_name('M."Readings"') == Name("m", "Readings")
    assert regclass_name("Readings") == Name(None, "readings")


def test_a_name_renders_back_to_itself():
    assert name_identifier("readings").sql(DIALECT) == "readings"
    assert name_identifier("Readings").sql(DIALECT) == '"Readings"'
    assert name_identifier("Zählerstände").sql(DIALECT) == '"Zählerstände"'


def test_search_path_names_fold_unless_quoted_or_strings(project: Project):
    project.write(
        "sql/a.sql",
        'CREATE SCHEMA Shop;\nCREATE SCHEMA "Store";\n'
        "SET search_path TO Shop, public;\nCREATE TABLE Orders (id int);\n"
        """SET search_path TO 'Store';\nCREATE TABLE Orders (id int);\n"""
        """SELECT pg_catalog.set_config('search_path', 'SHOP, "Store"', false);\n"""
        "CREATE TABLE Items (id int);\n",
    )
    graph = project.graph()
    assert graph[("shop", "orders")].definition.search_path == ("shop", "public")
    assert graph[("Store", "orders")].definition.search_path == ("Store",)
    assert graph[("shop", "items")].definition.search_path == ("shop", "Store")
