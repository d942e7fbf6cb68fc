"""A tutorial's DROP ... IF EXISTS before its CREATE: not run, and lint says so."""

from __future__ import annotations

from platform_assets.lint.rules import lint_graph
from tests.support.databases import TestDatabase
from tests.support.project import Project
from tests.support.runs import materialize

TUTORIAL = """\
DROP TABLE IF EXISTS "rates";
CREATE TABLE "rates" (rate_code INTEGER, description TEXT);
INSERT INTO rates (rate_code, description) VALUES (1, 'standard rate'), (2, 'JFK');
"""


def test_start_clean_is_reported_on_the_drop_line(project: Project):
    project.write("sql/rates.sql", TUTORIAL)
    findings = lint_graph(project.graph())
    assert [(f.rule.id, str(f.location), f.object_name) for f in findings] == [
        ("PG008", "sql/rates.sql:1", "table public.rates")
    ]
    assert "never dropped" in findings[0].message


def test_start_clean_keeps_the_rows_already_there(project: Project, database: TestDatabase):
    project.write("sql/rates.sql", TUTORIAL)
    graph = project.graph()
    assert materialize(graph, database.url).success
    with database.connect() as conn:
        conn.execute("INSERT INTO rates VALUES (99, 'added by the application')")
    assert materialize(graph, database.url).success
    assert database.value("SELECT count(*) FROM rates") == 3
