"""`platform plan`: the exact pending SQL, nothing changed by planning, exit codes for CI."""

from __future__ import annotations

import pytest

from tests.support.cli import plan
from tests.support.runs import materialize

# Server behaviour: on the system's PostgreSQL and on the wheel's.
pytestmark = pytest.mark.each_server

SCHEMA = "CREATE SCHEMA s;\nCREATE TABLE s.t (a int);\nCREATE INDEX idx_t_a ON s.t (a);\n"


def test_plan_shows_pending_sql_without_changing_anything(project, database):
    project.write("sql/s.sql", SCHEMA)
    result = plan(project, database)
    assert result.returncode == 2, result.stderr
    assert "s/t: created (table s.t)" in result.stdout
    assert "    CREATE TABLE s.t (a int);" in result.stdout
    assert "[SHARE] [INDEX BUILD] CREATE INDEX idx_t_a ON s.t (a);" in result.stdout
    assert database.value("SELECT to_regnamespace('s')") is None


def test_plan_is_empty_after_materialize_and_shows_a_new_statement(project, database):
    project.write("sql/s.sql", SCHEMA)
    materialize(project.graph(), database.url)
    clean = plan(project, database)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 object(s) to change" in clean.stdout

    project.write(
        "sql/s.sql", SCHEMA + "ALTER TABLE s.t ADD CONSTRAINT t_a_positive CHECK (a > 0);\n"
    )
    pending = plan(project, database)
    assert pending.returncode == 2
    assert "s/t: updated (table s.t)" in pending.stdout
    assert (
        "[ACCESS EXCLUSIVE] [FULL SCAN] ALTER TABLE s.t ADD CONSTRAINT t_a_positive CHECK (a > 0);"
        in pending.stdout
    )
    assert "1 object(s) to change" in pending.stdout
    assert database.value("SELECT count(*) FROM pg_constraint WHERE conname = 't_a_positive'") == 0


def test_plan_reports_a_failing_object_and_exits_1(project, database):
    project.write("sql/s.sql", SCHEMA + "ALTER TABLE s.t ADD CONSTRAINT bad CHECK (nope > 0);\n")
    result = plan(project, database)
    assert result.returncode == 1
    assert "ERROR sql/s.sql:2: table s.t:" in result.stdout
    assert "s/t/idx_t_a: blocked" in result.stdout
