"""What the TimescaleDB lint rules read from a declaration: a hypertable's partitioning
columns and a table's primary and unique keys, however they are declared; no database."""

from __future__ import annotations

from platform_assets.lint.rules import partition_columns, unique_keys
from platform_assets.model.objects import ObjectKind

TABLE = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA m;
CREATE TABLE m.readings (
    id bigint UNIQUE,
    TS timestamptz NOT NULL,
    device int NOT NULL,
    code text,
    UNIQUE (device, TS)
);
ALTER TABLE m.readings ADD CONSTRAINT readings_pkey PRIMARY KEY (id, TS);
CREATE UNIQUE INDEX readings_code ON m.readings (code, TS DESC);
CREATE INDEX readings_device ON m.readings (device);
"""


def hypertable(project, calls: str):
    project.write("sql/m.sql", TABLE + calls)
    graph = project.graph()
    table = graph.relation("m", "readings")
    return graph.attached(table, ObjectKind.HYPERTABLE)


def test_partitioning_columns_of_the_current_call_form(project):
    declared = hypertable(
        project,
        "SELECT create_hypertable('m.readings', by_range('TS', INTERVAL '1 day'));\n"
        "SELECT add_dimension('m.readings', by_hash('device', 4));\n",
    )
    assert partition_columns(declared) == ["ts", "device"]


def test_partitioning_columns_of_the_legacy_call_form(project):
    declared = hypertable(
        project,
        "SELECT create_hypertable('m.readings', 'TS', chunk_time_interval => INTERVAL '1 day');\n"
        "SELECT add_dimension('m.readings', 'device', number_partitions => 4);\n",
    )
    assert partition_columns(declared) == ["ts", "device"]


def test_every_primary_and_unique_key_is_found_wherever_it_is_declared(project):
    project.write("sql/m.sql", TABLE)
    graph = project.graph()
    keys = sorted(columns for _, columns, _ in unique_keys(graph.relation("m", "readings"), graph))
    assert keys == [["code", "ts"], ["device", "ts"], ["id"], ["id", "ts"]]


def test_a_unique_index_key_is_located_at_its_statement(project):
    project.write("sql/m.sql", TABLE)
    graph = project.graph()
    found = {
        tuple(columns): statement.location.line
        for statement, columns, _ in unique_keys(graph.relation("m", "readings"), graph)
    }
    assert found[("code", "ts")] == 11
    assert found[("id", "ts")] == 10
