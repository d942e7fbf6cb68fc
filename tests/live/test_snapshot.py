"""One catalog snapshot per run: a run that changes nothing reads the catalog in a fixed
number of queries whatever the schema's size, and one that changes objects sees each
change before anything depends on it."""

from __future__ import annotations

import dagster as dg
import psycopg

from platform_assets.live.session import Session
from tests.support.runs import materializations, materialize
from tests.support.statements import logged_statements, reads_catalog


def generated_schema(tables: int) -> str:
    """`tables` tables, each with a key, a foreign key to the one before, an index, a
    comment, a view and a trigger; an enum and a trigger function shared by all."""
    parts = [
        "CREATE SCHEMA gen;",
        "CREATE TYPE gen.state AS ENUM ('new', 'done');",
        "CREATE FUNCTION gen.touch() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;",
    ]
    for i in range(tables):
        parent = f", parent bigint REFERENCES gen.t{i - 1} (id)" if i else ""
        parts += [
            f"CREATE TABLE gen.t{i} (id bigint PRIMARY KEY, state gen.state NOT NULL "
            f"DEFAULT 'new', amount numeric(12, 2) CHECK (amount >= 0), "
            f"updated_at timestamptz{parent});",
            f"COMMENT ON TABLE gen.t{i} IS 'table {i}';",
            f"CREATE INDEX t{i}_state ON gen.t{i} (state, updated_at);",
            f"CREATE VIEW gen.v{i} AS SELECT id, state FROM gen.t{i} WHERE amount > 0;",
            f"CREATE TRIGGER t{i}_touch BEFORE UPDATE ON gen.t{i} "
            "FOR EACH ROW EXECUTE FUNCTION gen.touch();",
        ]
    return "\n".join(parts) + "\n"


def no_op_catalog_reads(project, database, tables: int) -> tuple[int, int]:
    """(catalog queries, every statement) of a run that finds `tables` tables as declared."""
    project.write("sql/gen.sql", generated_schema(tables))
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    assert materialize(graph, database.url, instance=instance).success
    with logged_statements(database) as statements:
        again = materialize(graph, database.url, instance=instance)
    assert again.success and materializations(again) == {}
    return sum(reads_catalog(s) for s in statements), len(statements)


def test_a_no_op_run_reads_the_catalog_in_a_fixed_number_of_queries(
    project, database, tmp_path_factory
):
    from tests.support.project import Project

    small, small_total = no_op_catalog_reads(project, database, tables=2)
    larger = Project(tmp_path_factory.mktemp("larger"))
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA gen CASCADE")
    large, large_total = no_op_catalog_reads(larger, database, tables=12)
    # The snapshot's queries (one per catalog) and nothing per object: every object is
    # taken as in place from its last check's fingerprint, not compared statement by
    # statement, so the run sends as many statements for six times the objects.
    assert small == large <= 12, (small, large)
    assert small_total == large_total, (small_total, large_total)


def test_a_run_that_creates_then_changes_objects_sees_each_change(project, database):
    path = project.write("sql/gen.sql", generated_schema(3))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize(project.graph(), database.url, instance=instance).success

    # One run: a new column, an index and a view on it, a new table depending on the
    # changed one, a constraint added later by ALTER, and a comment changed.
    path.write_text(
        generated_schema(3)
        .replace(
            "updated_at timestamptz, parent bigint REFERENCES gen.t1",
            "updated_at timestamptz, note text, parent bigint REFERENCES gen.t1",
        )  # fmt: skip
        .replace("'table 2'", "'table two'")
        + "CREATE INDEX t2_note ON gen.t2 (note);\n"
        "CREATE VIEW gen.notes AS SELECT id, note FROM gen.t2;\n"
        "CREATE TABLE gen.extra (id bigint PRIMARY KEY, t2 bigint);\n"
        "ALTER TABLE gen.extra ADD CONSTRAINT extra_t2 FOREIGN KEY (t2) REFERENCES gen.t2 (id);\n"
    )
    changed = materialize(project.graph(), database.url, instance=instance)
    assert changed.success
    assert {"gen/t2", "gen/t2/t2_note", "gen/notes", "gen/extra"} <= set(materializations(changed))
    assert database.value("SELECT obj_description('gen.t2'::regclass, 'pg_class')") == ("table two")
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname = 'extra_t2'") == 1

    # What the run left is exactly what is declared: the next run changes nothing.
    again = materialize(project.graph(), database.url, instance=instance)
    assert again.success and materializations(again) == {}


def test_a_statement_refreshes_what_it_changed_and_a_rollback_forgets_it(database):
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA s; CREATE TABLE s.a (id int)")
        session = Session(conn)
        snapshot = session.snapshot
        assert snapshot.relkind("s", "a") == "r" and snapshot.relkind("s", "b") is None
        before = session.snapshots.queries

        with session.changing([("s", "a")]):
            session.execute("ALTER TABLE s.a ADD COLUMN name text UNIQUE")
        assert [c.name for c in snapshot.columns("s", "a")] == ["id", "name"]
        # The unique constraint's index came with the statement: seen, not cached absent.
        assert snapshot.relkind("s", "a_name_key") == "i"
        assert session.snapshots.queries > before  # read again, alone

        with session.snapshots.discarded(), conn.transaction(force_rollback=True):
            with session.changing([("s", "b")]):
                session.execute("CREATE TABLE s.b (id int)")
            assert snapshot.relkind("s", "b") == "r"  # inside: as the transaction sees it
        assert snapshot.relkind("s", "b") is None  # rolled back: gone again
