"""The names PostgreSQL gives unnamed indexes: the platform's rule, and the server's own."""

from __future__ import annotations

import pytest

from platform_assets.execute.engines.postgres import added_constraint_names
from platform_assets.model.naming import choose_name, column_part, make_object_name
from tests.support.databases import TestDatabase
from tests.support.project import Project

LONG = "a" * 40 + "_measurements_" + "b" * 20  # 74 characters, longer than a name may be


def test_parts_are_shortened_longer_first_to_fit_63_bytes():
    name = make_object_name(LONG, "device_id_ts", "idx")
    assert len(name.encode()) == 63
    assert name.endswith("_device_id_ts_idx")
    assert make_object_name("rides", "vendor_id_pickup_datetime", "idx") == (
        "rides_vendor_id_pickup_datetime_idx"
    )


def test_multibyte_names_are_clipped_on_a_character():
    name = make_object_name("ı" * 40, "x", "idx")
    assert len(name.encode()) <= 63
    name.encode().decode()  # still valid UTF-8


def test_a_taken_name_gets_a_number_on_its_label():
    assert choose_name("t", "a", "idx", {"t_a_idx"}) == "t_a_idx1"
    assert choose_name("t", "a", "idx", {"t_a_idx", "t_a_idx1"}) == "t_a_idx2"


def test_expression_columns_are_expr_numbered():
    assert column_part(["a", None, None, "a"]) == "a_expr_expr1_a1"


@pytest.mark.parametrize(
    "indexes",
    [
        ["CREATE INDEX ON {t} (vendor_id, pickup_datetime DESC)"],
        ["CREATE INDEX ON {t} ((lower(vendor_id)))", "CREATE INDEX ON {t} (vendor_id)"],
        ["CREATE INDEX ON {t} (vendor_id)", "CREATE UNIQUE INDEX ON {t} (vendor_id)"],
    ],
)
@pytest.mark.parametrize("table", ["rides", LONG, "ıııııııııııııııııııııııııııııııııı"])
def test_the_compiler_names_unnamed_indexes_as_the_server_does(
    database: TestDatabase, project: Project, table: str, indexes: list[str]
):
    quoted = f'"{table}"'
    create = f"CREATE TABLE {quoted} (vendor_id text, pickup_datetime timestamptz);"
    statements = [create, *(index.format(t=quoted) + ";" for index in indexes)]
    project.write("sql/t.sql", "\n".join(statements) + "\n")
    graph = project.graph()
    with database.connect() as conn:
        for statement in statements:
            conn.execute(statement)
    live = {
        row[0]
        for row in database.rows(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'"
        )
    }
    declared = {obj.name for obj in graph if obj.kind.value == "index"}
    assert declared == live


def test_unnamed_constraints_added_later_are_named_as_the_server_names_them(
    database: TestDatabase, project: Project
):
    statements = [
        "CREATE TABLE u (id int PRIMARY KEY);",
        f'CREATE TABLE "{LONG}" (a int, b int, c int);',
        f'ALTER TABLE "{LONG}" ADD PRIMARY KEY (a);',
        f'ALTER TABLE "{LONG}" ADD UNIQUE (b, c);',
        f'ALTER TABLE "{LONG}" ADD CONSTRAINT checked CHECK (c > b);',
        f'ALTER TABLE "{LONG}" ADD FOREIGN KEY (b) REFERENCES u (id);',
        # After its column when it reads one, else after the table; numbered when taken.
        f'ALTER TABLE "{LONG}" ADD CHECK ((c + 1) > a);',
        f'ALTER TABLE "{LONG}" ADD CHECK (c > 0) NOT VALID;',
        f'ALTER TABLE "{LONG}" ADD CHECK (a <> b);',
        f'ALTER TABLE "{LONG}" ADD CHECK (c < 100);',
    ]
    project.write("sql/t.sql", "\n".join(statements) + "\n")
    table = project.graph()[("public", LONG)]
    with database.connect() as conn:
        for statement in statements:
            conn.execute(statement)
    live = {
        row[0]
        for row in database.rows(
            "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass(%s)",
            (f'"{LONG}"',),
        )
    }
    declared = {
        name
        for statement in table.statements[1:]
        for name in added_constraint_names(table, statement)
    }
    assert declared == live
