"""`platform plan` names each statement's lock level and hazards (LOCKS.md, per operation).

Each case materializes a table holding a row, changes its declaration and reads the
plan: the statements a run would execute, each with what it locks and risks.
"""

from __future__ import annotations

import pytest

from tests.support.cli import plan, statements
from tests.support.runs import materialize

BASE = (
    "CREATE SCHEMA s;\n"
    "CREATE TABLE s.parent (id int PRIMARY KEY);\n"
    "CREATE TABLE s.t (id int PRIMARY KEY, parent_id int, v text);\n"
)
FUNCTION = (
    "CREATE FUNCTION s.stop() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN RAISE EXCEPTION 'no'; END $$;\n"
)

CASES = {
    "add a nullable column": (
        BASE,
        BASE.replace("v text", "v text, note text"),
        ['[ACCESS EXCLUSIVE] ALTER TABLE "s"."t" ADD COLUMN note TEXT;'],
    ),
    "drop a column (allowed)": (
        BASE,
        BASE.replace(", v text", ""),
        ['[ACCESS EXCLUSIVE] [DELETES DATA] ALTER TABLE "s"."t" DROP COLUMN "v";'],
    ),
    "change a type that rewrites (allowed)": (
        BASE,
        BASE.replace("parent_id int", "parent_id bigint"),
        [
            '[ACCESS EXCLUSIVE] [TABLE REWRITE] ALTER TABLE "s"."t" ALTER COLUMN "parent_id" '
            "TYPE bigint;"
        ],
    ),
    "widen a varchar without a rewrite": (
        BASE.replace("v text", "v varchar(10)"),
        BASE.replace("v text", "v varchar(20)"),
        ['[ACCESS EXCLUSIVE] ALTER TABLE "s"."t" ALTER COLUMN "v" TYPE character varying(20);'],
    ),
    "add a foreign key": (
        BASE,
        BASE.replace(
            "parent_id int,", "parent_id int CONSTRAINT t_parent_fk REFERENCES s.parent (id),"
        ),
        [
            '[SHARE ROW EXCLUSIVE] ALTER TABLE "s"."t" ADD CONSTRAINT "t_parent_fk" '
            "FOREIGN KEY (parent_id) REFERENCES s.parent (id) NOT VALID;",
            '[SHARE UPDATE EXCLUSIVE] [FULL SCAN] [AFTER COMMIT] ALTER TABLE "s"."t" '
            'VALIDATE CONSTRAINT "t_parent_fk";',
        ],
    ),
    "add a check": (
        BASE,
        BASE.replace("v text", "v text CONSTRAINT t_v_short CHECK (length(v) < 100)"),
        [
            '[ACCESS EXCLUSIVE] ALTER TABLE "s"."t" ADD CONSTRAINT "t_v_short" '
            "CHECK (LENGTH(v) < 100) NOT VALID;",
            '[SHARE UPDATE EXCLUSIVE] [FULL SCAN] [AFTER COMMIT] ALTER TABLE "s"."t" '
            'VALIDATE CONSTRAINT "t_v_short";',
        ],
    ),
    "replace a view": (
        BASE + "CREATE VIEW s.names AS SELECT t.v FROM s.t t;\n",
        BASE + "CREATE VIEW s.names AS SELECT t.v, t.id FROM s.t t;\n",
        [
            "[ACCESS EXCLUSIVE] CREATE OR REPLACE VIEW s.names AS SELECT t.v, t.id FROM s.t t;",
        ],
    ),
    "create a trigger": (
        BASE + FUNCTION,
        BASE
        + FUNCTION
        + "CREATE TRIGGER t_stop BEFORE DELETE ON s.t FOR EACH ROW EXECUTE FUNCTION s.stop();\n",
        [
            "[SHARE ROW EXCLUSIVE] CREATE TRIGGER t_stop BEFORE DELETE ON s.t FOR EACH ROW "
            "EXECUTE FUNCTION s.stop();"
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_names_each_statement_s_lock_and_hazards(project, database, case):
    before, after, expected = CASES[case]
    project.write("sql/s.sql", before)
    materialize(project.graph(), database.url)
    database.value("INSERT INTO s.parent VALUES (1) RETURNING 1")
    database.value("INSERT INTO s.t VALUES (1, 1, 'a') RETURNING 1")
    project.write("sql/s.sql", after)
    pending = plan(project, database, "--allow-destructive", "s/t")
    assert pending.returncode == 2, pending.stdout + pending.stderr
    assert statements(pending) == expected
