"""A change that rewrites a table holding rows is refused unless the object is allowed.

A rewrite (a type change that is not binary-coercible, an added column the server
must fill row by row) holds ACCESS EXCLUSIVE while it copies the table: on a table
in use that is an outage, so it runs only when `allow_destructive` names the object.
On an empty table it copies nothing and is no hazard.
"""

from __future__ import annotations

from tests.support.cli import plan, statements
from tests.support.runs import allow, failure_message, materializations, materialize

TABLE = "CREATE SCHEMA s;\nCREATE TABLE s.t (id int PRIMARY KEY, n int{extra});\n"
RETYPE = 'ALTER TABLE "s"."t" ALTER COLUMN "n" TYPE bigint'


def table(extra: str = "") -> str:
    return TABLE.format(extra=extra)


def live_type(database) -> str:
    return database.value(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_schema = 's' AND table_name = 't' AND column_name = 'n'"
    )


def filenode(database) -> int:
    return database.value("SELECT pg_relation_filenode('s.t')")


def test_rewriting_type_change_is_refused_on_a_table_with_rows_until_allowed(project, database):
    project.write("sql/s.sql", table())
    materialize(project.graph(), database.url)
    database.value("INSERT INTO s.t VALUES (1, 7) RETURNING 1")
    before = filenode(database)

    project.write("sql/s.sql", table().replace("n int", "n bigint"))
    refused = materialize(project.graph(), database.url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "table s.t" in message and "s.sql:2" in message
    assert f"refused table rewrite(s): s.t holds rows, and {RETYPE}" in message
    assert "[ACCESS EXCLUSIVE] [TABLE REWRITE]" in message
    assert '"allow_destructive": ["s/t"]' in message
    assert "online: add a new column of type bigint" in message
    assert live_type(database) == "integer" and filenode(database) == before

    pending = plan(project, database)
    assert pending.returncode == 1, pending.stdout
    assert "s/t: refused (table s.t)" in pending.stdout
    assert statements(pending)[1:] == [f"[REFUSED] [ACCESS EXCLUSIVE] [TABLE REWRITE] {RETYPE};"]

    allowed = plan(project, database, "--allow-destructive", "s/t")
    assert allowed.returncode == 2, allowed.stdout + allowed.stderr
    assert statements(allowed) == [f"[ACCESS EXCLUSIVE] [TABLE REWRITE] {RETYPE};"]
    done = materialize(project.graph(), database.url, run_config=allow("s/t"))
    details = materializations(done)["s/t"]
    assert details["action"] == "updated"
    assert details["table_rewrites"][0].startswith(RETYPE)
    assert live_type(database) == "bigint"
    assert database.value("SELECT n FROM s.t WHERE id = 1") == 7


def test_rewrite_of_an_empty_table_is_no_hazard(project, database):
    project.write("sql/s.sql", table())
    materialize(project.graph(), database.url)

    project.write("sql/s.sql", table().replace("n int", "n bigint"))
    pending = plan(project, database)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    assert statements(pending) == [f"[ACCESS EXCLUSIVE] {RETYPE};"]
    done = materialize(project.graph(), database.url)
    assert materializations(done)["s/t"]["action"] == "updated"
    assert live_type(database) == "bigint"


def test_added_column_the_server_fills_row_by_row_is_refused_on_a_table_with_rows(
    project, database
):
    project.write("sql/s.sql", table())
    materialize(project.graph(), database.url)
    database.value("INSERT INTO s.t VALUES (1, 7) RETURNING 1")
    before = filenode(database)

    # A volatile default: every existing row gets its own value, so the table is rewritten.
    project.write("sql/s.sql", table(", token uuid DEFAULT gen_random_uuid()"))
    refused = materialize(project.graph(), database.url, raise_on_error=False)
    message = failure_message(refused)
    assert 'refused table rewrite(s): s.t holds rows, and ALTER TABLE "s"."t" ADD COLUMN ' in (
        message
    )
    assert "online: declare token without its default" in message
    # Asking the server whether it rewrites did not rewrite the table.
    assert filenode(database) == before
    assert database.value("SELECT count(*) FROM information_schema.columns "
                          "WHERE table_name = 't' AND column_name = 'token'") == 0  # fmt: skip

    # A constant default stays in the catalog (PostgreSQL 11+): no rewrite, no refusal.
    project.write("sql/s.sql", table(", label text DEFAULT 'none'"))
    pending = plan(project, database)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    assert statements(pending) == [
        '[ACCESS EXCLUSIVE] ALTER TABLE "s"."t" ADD COLUMN label TEXT DEFAULT \'none\';'
    ]
    materialize(project.graph(), database.url)
    assert filenode(database) == before
