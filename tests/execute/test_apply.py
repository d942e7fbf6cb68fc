"""Applying objects on a real PostgreSQL server: created once, then unchanged, atomic."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.runs import materializations, materialize
from tests.support.schemas import EVERY_KIND

# Server behaviour: on the system's PostgreSQL and on the wheel's.
pytestmark = pytest.mark.each_server


def test_every_object_kind_is_created_then_unchanged(project, database):
    project.write("sql/demo.sql", EVERY_KIND)
    graph = project.graph()

    first = materializations(materialize(graph, database.url))
    assert first["demo/users"]["action"] == "created"
    assert first["demo/users/users_append_only"]["action"] == "created"
    assert first["platform/extension/timescaledb"]["action"] == "not applicable on this engine"
    # Without TimescaleDB the hypertable is its native equivalent: range partitions.
    assert first["demo/events/hypertable"]["action"] == "created"
    assert "partitioned by range (time)" in first["demo/events/hypertable"]["engine_equivalent"]
    assert first["demo/users"]["dagster/row_count"] == 0
    columns = [c.name for c in first["demo/users"]["dagster/column_schema"].columns]
    assert columns == ["id", "state", "ticket", "score"]

    relkinds = dict(
        database.rows(
            "SELECT c.relname, c.relkind::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'demo'"
        )
    )
    assert relkinds["users"] == "r"
    assert relkinds["events"] == "p"
    assert relkinds["ticket_seq"] == "S"
    assert relkinds["idx_events_user_time"] == "I"  # a partitioned index
    assert relkinds["user_states"] == "v"
    assert relkinds["daily"] == "m"
    assert database.value("SELECT obj_description('demo.users'::regclass)") == "people"
    assert (
        database.value("SELECT count(*) FROM pg_constraint WHERE conname = 'users_id_small'") == 1
    )
    assert database.value("SELECT count(*) FROM pg_type WHERE typname = 'positive'") == 1

    second = materializations(materialize(graph, database.url))
    assert set(second) == set(first)
    assert {meta["action"] for key, meta in second.items() if not key.endswith("hypertable")} <= {
        "unchanged",
        "not applicable on this engine",
    }
    assert all(meta["statements_executed"] == 0 for meta in second.values())


def test_trigger_rejects_update_and_delete(project, database):
    project.write("sql/demo.sql", EVERY_KIND)
    materialize(project.graph(), database.url)
    with database.connect() as conn:
        conn.execute("INSERT INTO demo.users (id) VALUES (1)")
        for statement in ("UPDATE demo.users SET score = 2", "DELETE FROM demo.users"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM demo.users").fetchone()[0] == 1


def test_failing_object_leaves_the_database_unchanged(project, database):
    project.write(
        "sql/a.sql",
        "CREATE SCHEMA s;\n"
        "CREATE TABLE s.ok (a int);\n"
        "CREATE TABLE s.broken (a int);\n"
        "-- the next statement fails on the server: the column does not exist\n"
        "ALTER TABLE s.broken ADD CONSTRAINT broken_b CHECK (b > 0);\n"
        "CREATE INDEX idx_broken_a ON s.broken (a);\n",
    )
    result = materialize(project.graph(), database.url, raise_on_error=False)
    assert not result.success
    done = materializations(result)
    assert done["s/ok"]["action"] == "created"
    # The table's CREATE ran in the same transaction as its failing ALTER: rolled back.
    assert "s/broken" not in done
    assert "s/broken/idx_broken_a" not in done  # its dependent did not run
    assert database.value("SELECT to_regclass('s.broken')") is None
    assert database.value("SELECT to_regclass('s.ok')") == "s.ok"
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert "sql/a.sql:3" in message
    assert "table s.broken" in message
    assert 'column "b" does not exist' in message


def test_selecting_one_asset_runs_only_its_sql(project, database):
    project.write("sql/demo.sql", EVERY_KIND)
    graph = project.graph()
    materialize(graph, database.url, selection=["demo/schema", "demo/type/state"])
    materialize(graph, database.url, selection=["demo/sequence/ticket_seq", "demo/type/positive"])
    result = materializations(materialize(graph, database.url, selection=["demo/users"]))
    assert list(result) == ["demo/users"]
    assert result["demo/users"]["statements_executed"] == 3
    assert database.value("SELECT to_regclass('demo.users')") == "demo.users"
    assert database.value("SELECT to_regclass('demo.events')") is None


def test_amendment_added_later_is_applied_to_the_existing_table(project, database):
    project.write("sql/a.sql", "CREATE SCHEMA s;\nCREATE TABLE s.t (a int);\n")
    materialize(project.graph(), database.url)
    project.write(
        "sql/a.sql",
        "CREATE SCHEMA s;\nCREATE TABLE s.t (a int);\n"
        "ALTER TABLE s.t ADD CONSTRAINT t_a_positive CHECK (a > 0);\n",
    )
    result = materializations(materialize(project.graph(), database.url))
    assert result["s/t"]["action"] == "updated"
    assert result["s/t"]["statements_executed"] == 1
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname = 't_a_positive'") == 1
