"""Declarative evolution on a real PostgreSQL server: a changed CREATE TABLE (or index, view,
trigger) becomes the ALTERs that reach it; what loses data is refused unless allowed per
object in run config; undeclared objects are reported, never dropped."""

from __future__ import annotations

import dagster as dg
import pytest

from tests.support.cli import plan, statements
from tests.support.runs import (
    allow,
    failure_message,
    in_sync,
    materializations,
    materialize,
    verify,
)

# Server behaviour: on the system's PostgreSQL and on the wheel's.
pytestmark = pytest.mark.each_server

USERS = "CREATE SCHEMA demo;\nCREATE TABLE demo.users (\n    id bigint PRIMARY KEY,\n{body}\n);\n"


def users(body: str) -> str:
    return USERS.format(body=body)


def columns(database, table: str = "users") -> dict[str, str]:
    return dict(
        database.rows(
            "SELECT column_name::text, data_type::text || coalesce('(' || "
            "character_maximum_length || ')', '') FROM information_schema.columns "
            "WHERE table_schema = 'demo' AND table_name = %s",
            (table,),
        )
    )


def test_added_column_is_planned_as_one_alter_then_applied(project, database):
    project.write("sql/demo.sql", users("    name text NOT NULL"))
    materialize(project.graph(), database.url)
    database.value("INSERT INTO demo.users VALUES (1, 'ada') RETURNING 1")

    project.write("sql/demo.sql", users("    name text NOT NULL,\n    email varchar(200)"))
    pending = plan(project, database)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    assert statements(pending) == [
        '[ACCESS EXCLUSIVE] ALTER TABLE "demo"."users" ADD COLUMN email VARCHAR(200);'
    ]
    assert "email" not in columns(database)  # planning changed nothing

    result = materialize(project.graph(), database.url)
    done = materializations(result)["demo/users"]
    assert done["action"] == "updated"
    assert done["statements_executed"] == 1
    assert columns(database)["email"] == "character varying(200)"
    assert in_sync(result, "demo/users").passed
    assert plan(project, database).returncode == 0


def test_dropped_column_is_refused_with_its_row_count_until_allowed(project, database):
    project.write("sql/demo.sql", users("    name text,\n    nickname text"))
    graph = project.graph()
    materialize(graph, database.url)
    with database.connect() as conn:
        conn.execute(
            "INSERT INTO demo.users VALUES (1, 'ada', 'a'), (2, 'bob', NULL), (3, 'cy', 'c')"
        )

    project.write("sql/demo.sql", users("    name text"))
    refused = materialize(project.graph(), database.url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "sql/demo.sql:2: table demo.users: refused destructive change(s)" in message
    assert "dropping column nickname loses its 2 non-null value(s) (3 row(s) in the table)" in (
        message
    )
    assert '"allow_destructive": ["demo/users"]' in message
    assert "nickname" in columns(database)  # rolled back: the table is as it was
    assert database.value("SELECT count(nickname) FROM demo.users") == 2
    check = verify(project.graph(), database.url)["demo/users"]
    assert not check.passed
    assert "applying it would fail: refused destructive change(s): dropping column nickname" in (
        check.description
    )

    pending = plan(project, database)
    assert pending.returncode == 1
    assert "ERROR sql/demo.sql:2: table demo.users: refused destructive change(s)" in (
        pending.stdout
    )
    allowed_plan = plan(project, database, "--allow-destructive", "demo/users")
    assert allowed_plan.returncode == 2, allowed_plan.stdout
    assert (
        '[ACCESS EXCLUSIVE] [DELETES DATA] ALTER TABLE "demo"."users" DROP COLUMN "nickname";'
        in (statements(allowed_plan))
    )

    result = materialize(project.graph(), database.url, run_config=allow("demo/users"))
    done = materializations(result)["demo/users"]
    assert done["action"] == "updated"
    assert done["destructive_changes"] == [
        "dropping column nickname loses its 2 non-null value(s) (3 row(s) in the table)"
    ]
    assert "nickname" not in columns(database)
    assert database.value("SELECT count(*) FROM demo.users") == 3
    assert in_sync(result, "demo/users").passed


def test_allow_destructive_naming_no_object_fails_the_run(project, database):
    project.write("sql/demo.sql", users("    name text"))
    result = materialize(
        project.graph(), database.url, raise_on_error=False, run_config=allow("demo/usr")
    )
    assert not result.success
    assert "allow_destructive names no declared object: demo/usr" in failure_message(result)


def test_widening_is_applied_and_narrowing_is_refused(project, database):
    project.write(
        "sql/demo.sql", users("    name varchar(20),\n    visits int,\n    rank smallint")
    )
    materialize(project.graph(), database.url)
    with database.connect() as conn:
        conn.execute("INSERT INTO demo.users VALUES (1, 'ada', 2147483647, 1)")

    project.write("sql/demo.sql", users("    name varchar(50),\n    visits bigint,\n    rank int"))
    # int -> bigint rewrites the table, which holds a row: allowed explicitly.
    pending = plan(project, database, "--allow-destructive", "demo/users")
    assert pending.returncode == 2, pending.stdout
    assert not any("DELETES DATA" in line for line in statements(pending))
    result = materialize(project.graph(), database.url, run_config=allow("demo/users"))
    assert materializations(result)["demo/users"]["statements_executed"] == 3
    assert columns(database) == {
        "id": "bigint",
        "name": "character varying(50)",
        "visits": "bigint",
        "rank": "integer",
    }
    assert in_sync(result, "demo/users").passed
    with database.connect() as conn:
        conn.execute("INSERT INTO demo.users VALUES (2, 'bob', 2147483648, 1)")

    # Back to int: a narrowing, refused, with what it would lose.
    project.write("sql/demo.sql", users("    name varchar(50),\n    visits int,\n    rank int"))
    refused = materialize(project.graph(), database.url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "changing column visits from bigint to integer: the conversion fails" in message
    assert "out of range" in message
    assert columns(database)["visits"] == "bigint"


def test_narrowing_a_varchar_reports_the_values_it_would_cut(project, database):
    project.write("sql/demo.sql", users("    name varchar(50)"))
    materialize(project.graph(), database.url)
    with database.connect() as conn:
        conn.execute("INSERT INTO demo.users VALUES (1, 'ada'), (2, 'a much longer name')")
    project.write("sql/demo.sql", users("    name varchar(5)"))
    refused = materialize(project.graph(), database.url, raise_on_error=False)
    assert "changing column name from character varying(50) to character varying(5): " in (
        failure_message(refused)
    )
    assert "1 of 2 non-null value(s) would be changed or fail to convert" in (
        failure_message(refused)
    )
    assert columns(database)["name"] == "character varying(50)"


def test_set_not_null_is_refused_while_nulls_exist(project, database):
    project.write("sql/demo.sql", users("    name text"))
    materialize(project.graph(), database.url)
    with database.connect() as conn:
        conn.execute("INSERT INTO demo.users VALUES (1, 'ada'), (2, NULL), (3, NULL)")

    project.write("sql/demo.sql", users("    name text NOT NULL DEFAULT 'anonymous'"))
    refused = materialize(project.graph(), database.url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "sql/demo.sql:2: table demo.users: cannot make column name NOT NULL: " in message
    assert "2 row(s) hold NULL in it" in message
    # Not even the default was set: one transaction, rolled back.
    assert (
        database.value(
            "SELECT column_default FROM information_schema.columns WHERE column_name = 'name'"
        )
        is None
    )

    with database.connect() as conn:
        conn.execute("UPDATE demo.users SET name = 'unknown' WHERE name IS NULL")
    result = materialize(project.graph(), database.url)
    executed = materializations(result)["demo/users"]["sql_executed"]
    assert "SET DEFAULT 'anonymous'" in executed
    assert "SET NOT NULL" in executed
    assert in_sync(result, "demo/users").passed

    project.write("sql/demo.sql", users("    name text"))
    result = materialize(project.graph(), database.url)
    executed = materializations(result)["demo/users"]["sql_executed"]
    assert "DROP NOT NULL" in executed and "DROP DEFAULT" in executed


def test_changed_check_constraint_is_added_not_valid_then_validated(project, database):
    project.write(
        "sql/demo.sql",
        users("    age int,\n    CONSTRAINT users_age_sane CHECK (age >= 0)"),
    )
    materialize(project.graph(), database.url)
    with database.connect() as conn:
        conn.execute("INSERT INTO demo.users VALUES (1, 30)")

    project.write(
        "sql/demo.sql",
        users("    age int,\n    CONSTRAINT users_age_sane CHECK (age >= 0 AND age < 150)"),
    )
    pending = plan(project, database)
    # Validated beside the old one after the commit (the old one guards the rows until
    # then), then swapped in.
    assert statements(pending) == [
        '[ACCESS EXCLUSIVE] ALTER TABLE "demo"."users" ADD CONSTRAINT '
        '"users_age_sane_platform_new" CHECK (age >= 0 AND age < 150) NOT VALID;',
        "[SHARE UPDATE EXCLUSIVE] [FULL SCAN] [AFTER COMMIT] "
        'ALTER TABLE "demo"."users" VALIDATE CONSTRAINT "users_age_sane_platform_new";',
        '[ACCESS EXCLUSIVE] [AFTER COMMIT] ALTER TABLE "demo"."users" '
        'DROP CONSTRAINT "users_age_sane";',
        '[ACCESS EXCLUSIVE] [AFTER COMMIT] ALTER TABLE "demo"."users" '
        'RENAME CONSTRAINT "users_age_sane_platform_new" TO "users_age_sane";',
    ]
    result = materialize(project.graph(), database.url)
    assert materializations(result)["demo/users"]["statements_executed"] == 4
    definition, validated = database.rows(
        "SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint "
        "WHERE conname = 'users_age_sane'"
    )[0]
    assert definition == "CHECK (((age >= 0) AND (age < 150)))"
    assert validated
    assert in_sync(result, "demo/users").passed

    # A row that breaks the new constraint: VALIDATE fails and nothing changes.
    project.write(
        "sql/demo.sql",
        users("    age int,\n    CONSTRAINT users_age_sane CHECK (age < 18)"),
    )
    refused = materialize(project.graph(), database.url, raise_on_error=False)
    assert "is violated by some row" in failure_message(refused)
    assert (
        database.value(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'users_age_sane'"
        )
        == "CHECK (((age >= 0) AND (age < 150)))"
    )

    # Removed from the declaration: dropped (no data is lost), with the NOT VALID one
    # the failed validation left under its temporary name.
    project.write("sql/demo.sql", users("    age int"))
    result = materialize(project.graph(), database.url)
    assert materializations(result)["demo/users"]["statements_executed"] == 2
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname LIKE 'users_age%'") == 0
    assert (
        database.value("SELECT count(*) FROM pg_constraint WHERE conname = 'users_age_sane'") == 0
    )
    # The primary key (an unnamed constraint with a server-made name) was kept.
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname = 'users_pkey'") == 1


def test_changed_index_is_dropped_and_recreated(project, database):
    table = users("    name text,\n    age int")
    project.write("sql/demo.sql", table + "CREATE INDEX idx_users_name ON demo.users (name);\n")
    materialize(project.graph(), database.url)
    project.write(
        "sql/demo.sql",
        table + "CREATE INDEX idx_users_name ON demo.users (name, age DESC) WHERE age > 0;\n",
    )
    pending = plan(project, database)
    assert statements(pending) == [
        '[ACCESS EXCLUSIVE] [INDEX DROPPED] DROP INDEX "demo"."idx_users_name";',
        "[SHARE] [INDEX BUILD] CREATE INDEX idx_users_name ON demo.users (name, age DESC) "
        "WHERE age > 0;",
    ]
    result = materialize(project.graph(), database.url)
    assert materializations(result)["demo/users/idx_users_name"]["action"] == "updated"
    assert database.value("SELECT pg_get_indexdef('demo.idx_users_name'::regclass)") == (
        "CREATE INDEX idx_users_name ON demo.users USING btree (name, age DESC) WHERE (age > 0)"
    )
    assert in_sync(result, "demo/users/idx_users_name").passed
    again = materializations(materialize(project.graph(), database.url))
    assert again["demo/users/idx_users_name"]["action"] == "unchanged"


def test_changed_view_and_trigger_are_replaced(project, database):
    base = (
        users("    name text,\n    age int")
        + "CREATE FUNCTION demo.stop() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RAISE EXCEPTION 'no'; END $$;\n"
    )
    project.write(
        "sql/demo.sql",
        base
        + "CREATE VIEW demo.names AS SELECT u.name FROM demo.users u;\n"
        + "CREATE TRIGGER users_stop BEFORE DELETE ON demo.users "
        "FOR EACH ROW EXECUTE FUNCTION demo.stop();\n",
    )
    materialize(project.graph(), database.url)
    project.write(
        "sql/demo.sql",
        base
        + "CREATE VIEW demo.names AS SELECT u.name, u.age FROM demo.users u WHERE u.age > 0;\n"
        + "CREATE TRIGGER users_stop BEFORE DELETE OR UPDATE ON demo.users "
        "FOR EACH ROW EXECUTE FUNCTION demo.stop();\n",
    )
    result = materialize(project.graph(), database.url)
    done = materializations(result)
    assert done["demo/names"]["sql_executed"].startswith("```sql\nCREATE OR REPLACE VIEW")
    assert "DROP TRIGGER" in done["demo/users/users_stop"]["sql_executed"]
    live = database.value("SELECT pg_get_viewdef('demo.names'::regclass)")
    # PostgreSQL 18 leaves out the alias where no other relation could be meant.
    assert "WHERE (u.age > 0)" in live or "WHERE (age > 0)" in live
    assert "DELETE OR UPDATE" in database.value(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'users_stop'"
    )
    assert in_sync(result, "demo/names").passed
    assert in_sync(result, "demo/users/users_stop").passed
    again = materializations(materialize(project.graph(), database.url))
    assert again["demo/names"]["action"] == "unchanged"
    assert again["demo/users/users_stop"]["action"] == "unchanged"

    # A column removed from the view cannot be CREATE OR REPLACE: dropped and created.
    project.write(
        "sql/demo.sql",
        base
        + "CREATE VIEW demo.names AS SELECT u.age FROM demo.users u;\n"
        + "CREATE TRIGGER users_stop BEFORE DELETE OR UPDATE ON demo.users "
        "FOR EACH ROW EXECUTE FUNCTION demo.stop();\n",
    )
    executed = materializations(materialize(project.graph(), database.url))["demo/names"][
        "sql_executed"
    ]
    assert 'DROP VIEW "demo"."names"' in executed


def test_undeclared_table_is_reported_as_an_orphan_and_kept(project, database):
    project.write("sql/a_demo.sql", users("    name text"))
    project.write("sql/b_notes.sql", "CREATE TABLE demo.notes (body text);\n")
    materialize(project.graph(), database.url)
    with database.connect() as conn:
        conn.execute("INSERT INTO demo.notes VALUES ('keep me'), ('and me')")
        conn.execute("CREATE INDEX idx_users_by_hand ON demo.users (name)")

    (project.root / "sql/b_notes.sql").unlink()
    pending = plan(project, database)
    assert pending.returncode == 0, pending.stdout
    assert "orphan: table demo.notes (2 row(s)) is not declared in sql/ (kept)" in pending.stdout
    assert "orphan: index demo.idx_users_by_hand (on users) is not declared" in pending.stdout
    assert "users_pkey" not in pending.stdout  # a constraint's index belongs to it

    result = materializations(materialize(project.graph(), database.url))
    assert result["demo/schema"]["orphans"] == [
        "index demo.idx_users_by_hand (on users)",
        "table demo.notes (2 row(s))",
    ]
    assert database.value("SELECT count(*) FROM demo.notes") == 2


def test_identity_is_added_after_existing_ids_changed_and_dropped(project, database):
    table = (
        "CREATE SCHEMA demo;\n"
        "CREATE TABLE demo.tickets (id bigint {identity}PRIMARY KEY, title text);\n"
    )

    def declare(identity: str) -> dg.ExecuteInProcessResult:
        project.write("sql/demo.sql", table.format(identity=identity))
        result = materialize(project.graph(), database.url)
        assert in_sync(result, "demo/tickets").passed
        return result

    declare("")
    database.value("INSERT INTO demo.tickets VALUES (1, 'a'), (7, 'b') RETURNING 1")
    added = declare("GENERATED ALWAYS AS IDENTITY ")
    assert materializations(added)["demo/tickets"]["statements_executed"] == 1
    # Numbering starts after the ids already there.
    assert database.value("INSERT INTO demo.tickets (title) VALUES ('c') RETURNING id") == 8

    declare("GENERATED BY DEFAULT AS IDENTITY ")
    assert database.value("INSERT INTO demo.tickets VALUES (20, 'd') RETURNING id") == 20
    assert database.value("INSERT INTO demo.tickets (title) VALUES ('e') RETURNING id") == 9

    declare("")
    assert (
        database.value(
            "SELECT attidentity::text FROM pg_attribute WHERE attrelid = 'demo.tickets'::regclass "
            "AND attname = 'id'"
        )
        == ""
    )
    assert database.value("SELECT count(*) FROM demo.tickets") == 5  # every row kept
    again = materializations(materialize(project.graph(), database.url))["demo/tickets"]
    assert again["statements_executed"] == 0
