"""The compiler: what each statement declares, inferred dependencies, and located errors."""

from __future__ import annotations

import pytest

from platform_assets.model.declarations import Dimension, DimensionKind, HypertableConversion
from platform_assets.model.errors import SchemaError

DEMO = """\
CREATE SCHEMA demo;
CREATE TYPE demo.state AS ENUM ('new', 'done');
CREATE TABLE demo.users (id bigint PRIMARY KEY, state demo.state NOT NULL);
CREATE TABLE demo.events (
    time timestamptz NOT NULL,
    user_id bigint REFERENCES demo.users (id),
    value double precision
);
CREATE INDEX idx_events_time ON demo.events (time DESC);
SELECT create_hypertable('demo.events', by_range('time', INTERVAL '1 day'));
SELECT add_dimension('demo.events', by_hash('user_id', 4));
ALTER TABLE demo.events SET (timescaledb.compress, timescaledb.compress_segmentby = 'user_id');
SELECT add_compression_policy('demo.events', compress_after => INTERVAL '7 days');
CREATE MATERIALIZED VIEW demo.hourly WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', e.time) AS bucket, e.user_id, count(*) AS n
FROM demo.events e GROUP BY 1, 2 WITH NO DATA;
SELECT add_continuous_aggregate_policy('demo.hourly', start_offset => INTERVAL '3 hours',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
"""


def keys(graph) -> list[str]:
    return ["/".join(obj.key) for obj in graph]


def deps(graph, key: str) -> set[str]:
    return {"/".join(d) for d in graph[tuple(key.split("/"))].depends_on}


def test_statements_become_objects_with_inferred_dependencies(project):
    project.write("sql/demo.sql", DEMO)
    graph = project.graph()
    assert keys(graph) == [
        "demo/schema",
        "demo/type/state",
        "demo/users",
        "demo/events",
        "demo/events/idx_events_time",
        "demo/events/hypertable",
        "demo/events/compression_settings",
        "demo/events/compression_policy",
        "demo/hourly",
        "demo/hourly/refresh_policy",
    ]
    assert deps(graph, "demo/users") == {"demo/schema", "demo/type/state"}
    assert deps(graph, "demo/events") == {"demo/schema", "demo/users"}
    assert "demo/events/hypertable" in deps(graph, "demo/hourly")
    assert deps(graph, "demo/events/compression_policy") >= {"demo/events/compression_settings"}
    hypertable = graph[("demo", "events", "hypertable")]
    conversion = hypertable.declared(HypertableConversion)
    assert conversion.chunk_interval.lower() == "1 day"
    assert conversion.added[0] == Dimension(DimensionKind.HASH, "user_id", partitions=4)
    # add_dimension completes the hypertable asset: both statements are its SQL.
    assert "add_dimension" in hypertable.sql


def test_legacy_create_hypertable_form_is_read(project):
    project.write(
        "sql/a.sql",
        "CREATE SCHEMA s;\nCREATE TABLE s.t (ts timestamptz NOT NULL);\n"
        "SELECT create_hypertable('s.t', 'ts', chunk_time_interval => INTERVAL '1 hour');\n",
    )
    conversion = project.graph()[("s", "t", "hypertable")].declared(HypertableConversion)
    assert conversion.time_column == "ts"
    assert conversion.chunk_interval.lower() == "1 hour"


def test_pg_dump_style_file_is_taken_as_it_is(project):
    project.write(
        "sql/dump.sql",
        """\
SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
CREATE SCHEMA app;
ALTER SCHEMA app OWNER TO postgres;
CREATE TABLE app.accounts (id integer NOT NULL, name text);
ALTER TABLE app.accounts OWNER TO postgres;
CREATE SEQUENCE app.accounts_id_seq AS integer START WITH 1 INCREMENT BY 1 CACHE 1;
ALTER SEQUENCE app.accounts_id_seq OWNED BY app.accounts.id;
ALTER TABLE ONLY app.accounts ALTER COLUMN id SET DEFAULT nextval('app.accounts_id_seq'::regclass);
CREATE TABLE app.orders (id integer NOT NULL, account_id integer);
ALTER TABLE ONLY app.accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);
ALTER TABLE ONLY app.orders
    ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES app.accounts(id);
COMMENT ON TABLE app.orders IS 'orders placed';
CREATE INDEX orders_account_idx ON app.orders USING btree (account_id);
""",
    )
    graph = project.graph()
    assert "app/accounts" in deps(graph, "app/orders")
    assert "app/sequence/accounts_id_seq" in deps(graph, "app/accounts")
    # The sequence's OWNED BY completes the table it names (it needs the table; the
    # table's default needs the sequence): CREATE, OWNER, OWNED BY, SET DEFAULT, PK.
    assert len(graph[("app", "accounts")].statements) == 5
    assert "OWNED BY" in graph[("app", "accounts")].statements[2].text


@pytest.mark.parametrize(
    ("files", "location", "fragment"),
    [
        (
            {"sql/a.sql": "CREATE SCHEMA s;\n\nCREATE TABLE s.t (a int CHECK (a >));\n"},
            "sql/a.sql:3",
            "syntax error",
        ),
        (
            {
                "sql/a.sql": "CREATE SCHEMA s;\nCREATE TABLE s.t (a int);\n",
                "sql/b.sql": "-- again\nCREATE TABLE s.t (b int);\n",
            },
            "sql/b.sql:2",
            "table s.t is declared twice (first at sql/a.sql:2)",
        ),
        (
            {
                "sql/a.sql": "CREATE SCHEMA s;\n"
                "CREATE TABLE s.t (a int REFERENCES s.missing (id));\n"
            },
            "sql/a.sql:2",
            "table s.t: references relation s.missing, which is not declared",
        ),
        (
            {"sql/a.sql": "CREATE TABLE nowhere.t (a int);\n"},
            "sql/a.sql:1",
            "schema nowhere is not declared",
        ),
        (
            {
                "sql/a.sql": "CREATE SCHEMA s;\nCREATE VIEW s.a AS SELECT * FROM s.b;\n"
                "CREATE VIEW s.b AS SELECT * FROM s.a;\n"
            },
            "sql/a.sql:",
            "dependency cycle: view s.a (sql/a.sql:2) -> view s.b (sql/a.sql:3)",
        ),
    ],
    ids=["parse-error", "duplicate", "undeclared-reference", "undeclared-schema", "cycle"],
)
def test_errors_name_file_line_and_object(project, files, location, fragment):
    for relative, text in files.items():
        project.write(relative, text)
    with pytest.raises(SchemaError) as raised:
        project.graph()
    message = str(raised.value)
    assert location in message
    assert fragment in message


def test_statement_that_declares_nothing_is_rejected_with_its_line(project):
    # (INSERT ... VALUES into a declared table is seed data now: UPDATE declares nothing.)
    project.write("sql/a.sql", "CREATE SCHEMA s;\nUPDATE s.t SET a = 1;\n")
    with pytest.raises(SchemaError, match=r"sql/a.sql:2: unsupported statement"):
        project.graph()


def test_a_sql_function_follows_the_tables_its_body_reads(project):
    project.write(
        "sql/a.sql",
        "CREATE FUNCTION total(bigint) RETURNS numeric LANGUAGE sql STABLE AS $$\n"
        "  SELECT sum(amount) FROM orders WHERE customer = $1 $$;\n"
        "CREATE TABLE orders (customer bigint, amount numeric);\n",
    )
    graph = project.graph()
    assert "public/orders" in deps(graph, "public/function/total")
    assert keys(graph) == ["public/orders", "public/function/total"]


def test_a_composite_type_follows_the_table_whose_row_it_holds(project):
    project.write(
        "sql/a.sql",
        "CREATE TYPE wrapped AS (item public.items, n integer);\n"
        "CREATE TABLE items (id int, name text);\n",
    )
    graph = project.graph()
    assert "public/items" in deps(graph, "public/type/wrapped")
    assert keys(graph) == ["public/items", "public/type/wrapped"]


def test_a_domain_follows_the_functions_its_checks_call(project):
    project.write(
        "sql/a.sql",
        "CREATE DOMAIN positive_int AS integer CHECK (VALUE < 100)\n"
        "  CONSTRAINT positive_int_ok CHECK (public.positive(VALUE));\n"
        "CREATE FUNCTION positive(integer) RETURNS boolean LANGUAGE sql IMMUTABLE\n"
        "  AS $$ SELECT $1 > 0 $$;\n",
    )
    graph = project.graph()
    assert "public/function/positive" in deps(graph, "public/type/positive_int")
    assert keys(graph) == ["public/function/positive", "public/type/positive_int"]
