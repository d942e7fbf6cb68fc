"""A destructive change to a table whose name needs quoting says how to allow it with the
table's asset key, and that key allows it."""

from __future__ import annotations

from platform_assets.dagster.translator import SchemaTranslator
from tests.support.databases import TestDatabase
from tests.support.project import Project
from tests.support.runs import allow, failure_message, materializations, materialize

BEFORE = (
    'CREATE SCHEMA "Zähler";\nCREATE TABLE "Zähler"."Stände" (id int PRIMARY KEY, note text);\n'
)
AFTER = 'CREATE SCHEMA "Zähler";\nCREATE TABLE "Zähler"."Stände" (id int PRIMARY KEY);\n'


def test_dropping_a_column_of_a_quoted_table_is_allowed_by_its_asset_key(
    project: Project, database: TestDatabase
):
    project.write("sql/z.sql", BEFORE)
    assert materialize(project.graph(), database.url).success
    with database.connect() as conn:
        conn.execute("""INSERT INTO "Zähler"."Stände" VALUES (1, 'kept until allowed')""")

    project.write("sql/z.sql", AFTER)
    graph = project.graph()
    refused = materialize(graph, database.url, raise_on_error=False)
    assert not refused.success
    key = SchemaTranslator().get_asset_key(graph[("Zähler", "Stände")]).to_user_string()
    message = failure_message(refused)
    assert f'"allow_destructive": ["{key}"]' in message
    assert f"platform plan --allow-destructive {key}" in message

    allowed = materialize(graph, database.url, run_config=allow(key))
    assert materializations(allowed)[key]["action"] == "updated"
    assert database.value('SELECT count(*) FROM "Zähler"."Stände"') == 1
