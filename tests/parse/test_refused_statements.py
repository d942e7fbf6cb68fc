"""What the platform still refuses, each with file:line, the object, why, and what to write."""

from __future__ import annotations

import pytest

from platform_assets.model.errors import SchemaError
from tests.support.project import Project

TABLE = "CREATE TABLE t (a int PRIMARY KEY, b text);\n"


@pytest.mark.parametrize(
    ("text", "location", "fragments"),
    [
        (
            TABLE + "DROP TABLE t;\n",
            "sql/a.sql:2",
            ["DROP TABLE would destroy table t", "delete its CREATE", "IF EXISTS directly before"],
        ),
        (  # IF EXISTS, but not directly before the CREATE of the same object
            "DROP TABLE IF EXISTS t;\nCREATE TABLE u (a int);\n" + TABLE,
            "sql/a.sql:1",
            ["DROP TABLE would destroy table t", "IF EXISTS directly before its CREATE"],
        ),
        (
            TABLE + "\\connect other\n",
            "sql/a.sql:2",
            ["psql meta-command \\connect is not SQL", "run it with psql, or remove it"],
        ),
        (
            TABLE + "UPDATE t SET b = 'x';\n",
            "sql/a.sql:2",
            ["unsupported statement", "UPDATE t", "INSERT ... VALUES or in seeds/"],
        ),
        (
            TABLE + "INSERT INTO t SELECT 1, 'x';\n",
            "sql/a.sql:2",
            ["INSERT INTO t: only VALUES rows are seed data", "seeds/<schema>/<table>.csv"],
        ),
        (
            TABLE + "INSERT INTO t VALUES\n  (1, 'x'),\n  (2, now());\n",
            "sql/a.sql:4",
            ["INSERT INTO t:", "is not a constant", "column DEFAULT"],
        ),
        (
            TABLE + "INSERT INTO t VALUES (1, 'x') ON CONFLICT (a) DO UPDATE SET b = 'y';\n",
            "sql/a.sql:2",
            ["ON CONFLICT DO UPDATE is how every seed loads", "ON CONFLICT DO NOTHING"],
        ),
        (
            "INSERT INTO missing VALUES (1);\n",
            "sql/a.sql:1",
            ["INSERT INTO missing: no table of that name", "declare the table first"],
        ),
        (
            TABLE + "INSERT INTO t VALUES (1, 'x', 3);\n",
            "sql/a.sql:2",
            ["seed public.t", "the row has 3 values for 2 columns"],
        ),
        (
            TABLE + "SELECT alter_job(1000, schedule_interval => INTERVAL '1 hour');\n",
            "sql/a.sql:2",
            ["alter_job takes a job id, which differs", "declare the settings in the add_job"],
        ),
        (  # pg_dump attaches the indexes of a partition's keys: the key must be declared
            "CREATE TABLE p (a int) PARTITION BY RANGE (a);\n"
            "ALTER INDEX p_pkey ATTACH PARTITION p1_pkey;\n",
            "sql/a.sql:2",
            ["index p1_pkey is attached as a partition", "primary key, unique or exclusion"],
        ),
        (
            "COMMENT ON LARGE OBJECT 1234 IS 'x';\n",
            "sql/a.sql:1",
            ["large object 1234 is not declared", "SELECT lo_create(1234)"],
        ),
        (  # a large object's oid must be the same in every database
            "SELECT lo_create(0);\n",
            "sql/a.sql:1",
            ["lo_create: a large object is declared by its oid", "SELECT lo_create(16384)"],
        ),
    ],
)
def test_refused_statement_names_place_object_reason_and_remedy(
    project: Project, text: str, location: str, fragments: list[str]
):
    project.write("sql/a.sql", text)
    with pytest.raises(SchemaError) as raised:
        project.graph()
    message = str(raised.value)
    assert message.startswith(f"{location}: "), message
    for fragment in fragments:
        assert fragment in message, message
