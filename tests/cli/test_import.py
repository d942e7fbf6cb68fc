"""`platform import` adopts a database: the files it writes declare the database as it is.

The five systems are materialized into a database on plain PostgreSQL (their hypertables
become upkept range partitions); importing it gives a project whose plan against that
database is empty and whose materialization runs no DDL with every check passing. A project
materialized into an empty database and imported again gives the same files, from the first
import on (expressions are written as the server prints them back).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from platform_assets.adopt.importer import compile_dump, import_database, retention_note
from platform_assets.model.errors import SchemaError, SchemaErrors
from platform_assets.parse.compiler import compile_directory
from tests.support.adoption import assert_adopts, files_of
from tests.support.cli import platform
from tests.support.databases import TestDatabase, empty_database
from tests.support.project import REPO, SYSTEMS, Project
from tests.support.runs import materialize


def test_five_systems_import_adopts_the_database(database: TestDatabase, tmp_path: Path):
    assert materialize(compile_directory(REPO / "sql", REPO), database.url).success
    imported = Project(tmp_path / "imported")
    notes: list[str] = []
    import_database(database.url, imported.root, note=notes.append)
    assert {path.split("/")[0] for path in files_of(imported)} == set(SYSTEMS)
    # Upkeep's retention is held by no catalog row: the import says so, naming each table.
    assert retention_note("wildduck", "metrics_system") in notes
    text = files_of(imported)["wildduck/30_tables.sql"]
    assert '-- platform: partition_interval="1 day" premake=4 lookback=4' in text
    assert "metrics_system_p2" not in text  # upkept partitions are the annotation's
    lines = text.splitlines()
    assert not [line for line in lines if line.startswith(("SET ", "SELECT pg_catalog.set_config"))]
    assert "OWNER TO" not in text
    assert_adopts(imported, database)


def round_trip(imported: Project, database: TestDatabase, again: Project, **options) -> None:
    """Materialize the imported files into an empty database and import that into `again`."""
    with empty_database(database.cluster, f"{database.name}_copy") as copy:
        assert materialize(imported.graph(), copy.url).success
        import_database(copy.url, again.root, **options)


def test_five_systems_import_round_trips(database: TestDatabase, tmp_path: Path):
    assert materialize(compile_directory(REPO / "sql", REPO), database.url).success
    imported, again = Project(tmp_path / "one"), Project(tmp_path / "two")
    import_database(database.url, imported.root)
    # Written as PostgreSQL prints them back: `varchar_column IN ('a', 'b')` comes out as
    # `= ANY (ARRAY[('a'::character varying)::text, ...])` from the first import on.
    assert "('QUEUED'::character varying)::text" in files_of(imported)["scheduler/30_tables.sql"]
    round_trip(imported, database, again)
    assert files_of(again) == files_of(imported)


QUOTED = """\
CREATE SCHEMA "Sales";
CREATE SCHEMA inventory;
CREATE TYPE "Sales"."Order State" AS ENUM ('open', 'shipped');
CREATE DOMAIN inventory.region AS varchar(8) CHECK (VALUE IN ('north', 'south'));
CREATE TABLE inventory.items (id bigint PRIMARY KEY, "Label" text NOT NULL);
COMMENT ON TABLE inventory.items IS 'what can be sold';
INSERT INTO inventory.items VALUES (2, 'Gadget, large'), (1, 'Widget');
CREATE TABLE "Sales"."Orders" (
    "Order ID" bigint PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES inventory.items (id),
    state "Sales"."Order State" NOT NULL DEFAULT 'open',
    "select" text,
    channel varchar(10) NOT NULL CHECK (channel IN ('web', 'shop')),
    region inventory.region
);
CREATE INDEX "Orders by item" ON "Sales"."Orders" (item_id);
CREATE INDEX web_orders ON "Sales"."Orders" (item_id) WHERE channel IN ('web', 'phone');
CREATE VIEW "Sales".open_orders AS
    SELECT o."Order ID", i."Label"
    FROM "Sales"."Orders" o JOIN inventory.items i ON i.id = o.item_id
    WHERE o.state = 'open' AND o.channel IN ('web', 'shop');
CREATE ROLE import_reader;
GRANT USAGE ON SCHEMA inventory TO import_reader;
GRANT SELECT ON inventory.items TO import_reader;
"""


def test_quoted_names_and_several_schemas(database: TestDatabase, tmp_path: Path):
    with database.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS import_reader")
        conn.execute(QUOTED)
    try:
        everything = Project(tmp_path / "everything")
        import_database(database.url, everything.root, privileges=True, seeds=["inventory.items"])
        seed = everything.root / "seeds" / "inventory" / "items.csv"
        assert seed.read_text() == 'id,Label\n1,Widget\n2,"Gadget, large"\n'
        files = files_of(everything)
        assert set(files) == {
            "Sales/00_schema.sql",
            "Sales/20_types.sql",
            "Sales/30_tables.sql",
            "Sales/40_views.sql",
            "inventory/00_schema.sql",
            "inventory/20_types.sql",
            "inventory/30_tables.sql",
        }
        # Hand-written `varchar IN (...)` as the server prints it back (the round trip below).
        assert all(
            "('web'::character varying)::text" in files[name]
            for name in ("Sales/30_tables.sql", "Sales/40_views.sql")
        )
        assert "('north'::character varying)::text" in files["inventory/20_types.sql"]
        assert 'CREATE INDEX "Orders by item" ON "Sales"."Orders"' in files["Sales/30_tables.sql"]
        assert (
            "GRANT SELECT ON TABLE inventory.items TO import_reader"
            in files["inventory/30_tables.sql"]
        )
        assert (
            "COMMENT ON TABLE inventory.items IS 'what can be sold'"
            in files["inventory/30_tables.sql"]
        )
        recorded = assert_adopts(everything, database)
        assert recorded["inventory/seed/items"]["action"] == "unchanged"
        again = Project(tmp_path / "again")
        round_trip(everything, database, again, privileges=True)
        assert files_of(again) == files_of(everything)

        one = Project(tmp_path / "one")
        import_database(database.url, one.root, ["inventory"])
        assert set(files_of(one)) == {
            "inventory/00_schema.sql",
            "inventory/20_types.sql",
            "inventory/30_tables.sql",
        }
        assert "GRANT" not in files_of(one)["inventory/30_tables.sql"]  # only with privileges
    finally:
        with database.connect() as conn:
            conn.execute('DROP SCHEMA "Sales", inventory CASCADE')
            conn.execute("DROP ROLE import_reader")


def test_the_command_line_and_what_it_refuses(database: TestDatabase, tmp_path: Path):
    with database.connect() as conn:
        conn.execute("CREATE SCHEMA odd")
        conn.execute("CREATE TABLE odd.t (id int)")
    try:
        env = {**os.environ, "PLATFORM_DATABASE_URL": database.url}
        first = platform("import", "--into", str(tmp_path / "first"), env=env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines()[-1] == f"2 file(s) written under {tmp_path}/first"
        again = platform("import", "--into", str(tmp_path / "first"), env=env)
        assert again.returncode == 1 and "already holds 2 .sql file(s)" in again.stderr
        refused = {
            r"no schema nosuch in the database": {"schemas": ["nosuch"]},
            r"--seed odd.nope: no table odd.nope in the imported schemas": {"seeds": ["odd.nope"]},
            r"--seed odd.t.x: not a table name": {"seeds": ["odd.t.x"]},
            r'--seed "odd: not a table name': {"seeds": ['"odd']},
            r"--seed odd.blank: a value is the empty string": {"seeds": ["odd.blank"]},
        }
        with database.connect() as conn:
            conn.execute("ALTER TABLE odd.t ADD PRIMARY KEY (id)")
            conn.execute("CREATE TABLE odd.blank (id int PRIMARY KEY, v text)")
            conn.execute("INSERT INTO odd.blank VALUES (1, '')")
        for message, options in refused.items():
            with pytest.raises(SchemaError, match=message):
                import_database(database.url, tmp_path / "second", **options)
            assert not (tmp_path / "second").exists()
    finally:
        with database.connect() as conn:
            conn.execute("DROP SCHEMA odd CASCADE")


def test_what_the_platform_cannot_declare_is_named_with_its_statement():
    # No pg_dump --schema-only output is known to be refused; the path is proved on a dump
    # holding a statement the platform refuses.
    dump = "CREATE TABLE public.t (a integer);\nUPDATE public.t SET a = 1;\n"
    with pytest.raises(SchemaErrors) as raised:
        compile_dump(dump)
    message = str(raised.value)
    assert "the database holds what the platform cannot declare" in message
    assert "pg_dump.sql:2" in message and "UPDATE public.t SET a = 1;" in message


def test_seed_names_are_qualified_identifiers(database: TestDatabase, tmp_path: Path):
    with database.connect() as conn:
        conn.execute('CREATE SCHEMA "my.schema"')
        conn.execute('CREATE TABLE "my.schema"."tbl.x" (id int PRIMARY KEY, "Label" text)')
        conn.execute("""INSERT INTO "my.schema"."tbl.x" VALUES (1, 'one'), (2, NULL)""")
    try:
        project = Project(tmp_path / "seeded")
        import_database(database.url, project.root, seeds=['"my.schema"."tbl.x"'])
        seed = project.root / "seeds" / "my.schema" / "tbl.x.csv"
        assert seed.read_text() == "id,Label\n1,one\n2,\n"
        recorded = assert_adopts(project, database)
        assert [m["action"] for k, m in recorded.items() if "inserted" in m] == ["unchanged"]
    finally:
        with database.connect() as conn:
            conn.execute('DROP SCHEMA "my.schema" CASCADE')


INTEGER_TIME = """\
CREATE SCHEMA ticks;
CREATE FUNCTION ticks.now_ms() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;
CREATE TABLE ticks.readings (ts bigint NOT NULL, v int);
SELECT create_hypertable('ticks.readings', by_range('ts', 86400000));
SELECT set_integer_now_func('ticks.readings', 'ticks.now_ms');
"""


def test_integer_time_partitions_are_the_annotated_parent(database: TestDatabase, tmp_path: Path):
    source = Project(tmp_path / "source")
    source.write("sql/ticks/schema.sql", INTEGER_TIME)
    run = materialize(source.graph(), database.url)  # upkept integer partitions
    checks = run.get_asset_check_evaluations()
    assert run.success and checks and all(c.passed for c in checks)
    partitions = database.rows(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'ticks.readings'::regclass"
    )
    assert len(partitions) == 9
    imported = Project(tmp_path / "imported")
    env = {**os.environ, "PLATFORM_DATABASE_URL": database.url}
    done = platform("import", "--into", str(imported.root), env=env)
    assert done.returncode == 0, done.stderr
    assert f"note: {retention_note('ticks', 'readings')}" in done.stdout.splitlines()
    tables = files_of(imported)["ticks/30_tables.sql"]
    assert (
        "-- platform: partition_interval=86400000 premake=4 lookback=4 integer_time=true "
        "integer_now_func=ticks.now_ms\nCREATE TABLE ticks.readings" in tables
    )
    assert "PARTITION OF" not in tables and "readings_p" not in tables
    assert_adopts(imported, database)
    again = Project(tmp_path / "again")
    round_trip(imported, database, again)
    assert files_of(again) == files_of(imported)
