"""Typed declarations read while parsing: every create_hypertable form, each policy in
named and positional form, columnstore settings, continuous aggregates and tables.
Pure parsing: no database."""

from __future__ import annotations

import pytest
from sqlglot import exp

from platform_assets.model.declarations import (
    ColumnstoreSettings,
    CompressionPolicy,
    ContinuousAggregate,
    Dimension,
    DimensionKind,
    HypertableConversion,
    KeyKind,
    Partitioning,
    RefreshPolicy,
    ReorderPolicy,
    RetentionPolicy,
    TableDefinition,
)
from platform_assets.model.errors import SchemaError
from platform_assets.parse.dialect import DIALECT

TABLE = """\
CREATE SCHEMA s;
CREATE TABLE s.t (ts timestamptz NOT NULL, id bigint NOT NULL, device int, value float8);
CREATE INDEX t_device_ts ON s.t (device, ts);
"""


def declared(project, sql: str, key: tuple[str, ...], kind: type):
    project.write("sql/a.sql", TABLE + sql)
    return project.graph()[key].declared(kind)


def conversion(project, sql: str) -> HypertableConversion:
    return declared(project, sql, ("s", "t", "hypertable"), HypertableConversion)


def hash_dimension(column: str, partitions: int) -> Dimension:
    return Dimension(DimensionKind.HASH, column, partitions=partitions)


# -- create_hypertable and add_dimension ---------------------------------------------------


def test_by_range_form_reads_time_column_and_interval(project):
    found = conversion(
        project, "SELECT create_hypertable('s.t', by_range('ts', INTERVAL '1 day'));"
    )
    assert found.time_column == "ts"
    assert found.time.kind == DimensionKind.RANGE
    assert str(found.chunk_interval).lower() == "1 day"
    assert found.space == found.added == ()
    assert found.create_default_indexes is None and found.migrate_data is None


def test_named_current_form_reads_its_options(project):
    found = conversion(
        project,
        "SELECT create_hypertable(relation => 's.t', dimension => by_range('ts'), "
        "create_default_indexes => false, if_not_exists => true, migrate_data => true);",
    )
    assert found.time == Dimension(DimensionKind.RANGE, "ts")
    assert (found.create_default_indexes, found.if_not_exists, found.migrate_data) == (
        False,
        True,
        True,
    )


def test_by_hash_and_by_range_dimensions_are_appended_in_order(project):
    found = conversion(
        project,
        "SELECT create_hypertable('s.t', by_range('ts', INTERVAL '1 day'));\n"
        "SELECT add_dimension('s.t', by_hash('device', 4));\n"
        "SELECT add_dimension('s.t', dimension => by_range('id', 1000));\n",
    )
    assert found.added == (
        hash_dimension("device", 4),
        Dimension(DimensionKind.RANGE, "id", interval=1000),
    )
    assert found.partition_columns == ["ts", "device", "id"]
    assert found.hash_dimensions == [hash_dimension("device", 4)]


def test_positional_legacy_form_reads_the_space_dimension(project):
    # The tutorial form: time column 'ts', space column 'device' with 2 partitions.
    found = conversion(project, "SELECT create_hypertable('s.t', 'ts', 'device', 2);")
    assert found.time == Dimension(DimensionKind.RANGE, "ts")
    assert found.space == (hash_dimension("device", 2),)
    assert found.partition_columns == ["ts", "device"]


def test_named_legacy_form_reads_like_the_positional_one(project):
    named = conversion(
        project,
        "SELECT create_hypertable(relation => 's.t', time_column_name => 'ts', "
        "partitioning_column => 'device', number_partitions => 2, "
        "chunk_time_interval => INTERVAL '6 hours', associated_schema_name => 'chunks');",
    )
    positional = conversion(
        project,
        "SELECT create_hypertable('s.t', 'ts', 'device', 2, 'chunks', NULL, INTERVAL '6 hours');",
    )
    assert named.time_column == positional.time_column == "ts"
    assert str(named.chunk_interval).lower() == str(positional.chunk_interval).lower() == "6 hours"
    assert named.space == positional.space == (hash_dimension("device", 2),)
    assert dict(named.options)["associated_schema_name"] == "chunks"
    assert dict(positional.options)["associated_schema_name"] == "chunks"


def test_integer_time_takes_an_integer_interval(project):
    legacy = conversion(
        project, "SELECT create_hypertable('s.t', 'id', chunk_time_interval => 100000);"
    )
    current = conversion(project, "SELECT create_hypertable('s.t', by_range('id', 100000));")
    assert legacy.time == current.time == Dimension(DimensionKind.RANGE, "id", interval=100000)


def test_legacy_add_dimension_forms(project):
    found = conversion(
        project,
        "SELECT create_hypertable('s.t', 'ts');\n"
        "SELECT add_dimension('s.t', 'device', 4);\n"
        "SELECT add_dimension('s.t', 'id', chunk_time_interval => 1000);\n",
    )
    assert found.added == (
        hash_dimension("device", 4),
        Dimension(DimensionKind.RANGE, "id", interval=1000),
    )


def test_a_first_dimension_that_is_not_a_range_is_refused_with_its_line(project):
    project.write("sql/a.sql", TABLE + "SELECT create_hypertable('s.t', by_hash('device', 4));\n")
    with pytest.raises(SchemaError) as error:
        project.graph()
    assert "a.sql:4" in str(error.value)
    assert "by_range" in str(error.value)


def test_too_many_positional_arguments_are_refused_with_their_line(project):
    project.write(
        "sql/a.sql",
        TABLE + "SELECT add_reorder_policy('s.t', 't_device_ts', true, NULL, 'UTC', 1);\n",
    )
    with pytest.raises(SchemaError) as error:
        project.graph()
    assert "a.sql:4" in str(error.value)
    assert "too many arguments" in str(error.value)


# -- policies ------------------------------------------------------------------------------

HYPERTABLE = "SELECT create_hypertable('s.t', by_range('ts', INTERVAL '1 day'));\n"


def policy(project, sql: str, kind: str, cls: type):
    return declared(project, HYPERTABLE + sql, ("s", "t", kind), cls)


def test_compression_policy_named_and_positional_read_alike(project):
    named = policy(
        project,
        "SELECT add_compression_policy('s.t', compress_after => INTERVAL '7 days', "
        "if_not_exists => true, schedule_interval => INTERVAL '12 hours');",
        "compression_policy",
        CompressionPolicy,
    )
    positional = policy(
        project,
        "SELECT add_compression_policy('s.t', INTERVAL '7 days', true, INTERVAL '12 hours');",
        "compression_policy",
        CompressionPolicy,
    )
    assert named == positional
    assert str(named.after).lower() == "7 days"
    assert str(named.schedule_interval).lower() == "12 hours"
    assert named.if_not_exists is True
    assert named.job_config == {"compress_after": named.after}


def test_columnstore_policy_call_reads_after(project):
    found = policy(
        project,
        "CALL add_columnstore_policy('s.t', after => INTERVAL '7 days', "
        "initial_start => '2024-01-01 00:00:00+00', timezone => 'UTC');",
        "compression_policy",
        CompressionPolicy,
    )
    assert found.function == "add_columnstore_policy"
    assert str(found.after).lower() == "7 days"
    assert (found.initial_start, found.timezone) == ("2024-01-01 00:00:00+00", "UTC")


def test_retention_policy_named_and_positional_read_alike(project):
    named = policy(
        project,
        "SELECT add_retention_policy('s.t', drop_after => INTERVAL '90 days', "
        "schedule_interval => INTERVAL '1 day');",
        "retention_policy",
        RetentionPolicy,
    )
    positional = policy(
        project,
        "SELECT add_retention_policy('s.t', INTERVAL '90 days', NULL, INTERVAL '1 day');",
        "retention_policy",
        RetentionPolicy,
    )
    assert named == positional
    assert str(named.drop_after).lower() == "90 days"
    assert named.job_config == {"drop_after": named.drop_after}


def test_integer_offsets_stay_integers(project):
    found = policy(
        project, "SELECT add_retention_policy('s.t', 1000);", "retention_policy", RetentionPolicy
    )
    assert found.drop_after == 1000


def test_reorder_policy_named_and_positional_read_alike(project):
    named = policy(
        project,
        "SELECT add_reorder_policy(hypertable => 's.t', index_name => 't_device_ts');",
        "reorder_policy",
        ReorderPolicy,
    )
    positional = policy(
        project,
        "SELECT add_reorder_policy('s.t', 't_device_ts');",
        "reorder_policy",
        ReorderPolicy,
    )
    assert named == positional
    assert named.index_name == "t_device_ts"


AGGREGATE = """\
CREATE MATERIALIZED VIEW s.hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = true)
AS SELECT time_bucket(INTERVAL '1 hour', t.ts) AS bucket, t.device, avg(t.value) AS value
FROM s.t t GROUP BY bucket, t.device WITH NO DATA;
"""


def test_refresh_policy_named_and_positional_read_alike(project):
    named = declared(
        project,
        HYPERTABLE
        + AGGREGATE
        + "SELECT add_continuous_aggregate_policy('s.hourly', start_offset => INTERVAL '1 day', "
        "end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes', "
        "buckets_per_batch => 2);",
        ("s", "hourly", "refresh_policy"),
        RefreshPolicy,
    )
    positional = declared(
        project,
        HYPERTABLE
        + AGGREGATE
        + "SELECT add_continuous_aggregate_policy('s.hourly', INTERVAL '1 day', "
        "INTERVAL '1 hour', INTERVAL '30 minutes', buckets_per_batch => 2);",
        ("s", "hourly", "refresh_policy"),
        RefreshPolicy,
    )
    assert named == positional
    assert str(named.start_offset).lower() == "1 day"
    assert str(named.end_offset).lower() == "1 hour"
    assert str(named.schedule_interval).lower() == "30 minutes"
    assert dict(named.options) == {"buckets_per_batch": 2}


def test_a_null_offset_is_none(project):
    found = declared(
        project,
        HYPERTABLE
        + AGGREGATE
        + "SELECT add_continuous_aggregate_policy('s.hourly', NULL, INTERVAL '1 hour', "
        "INTERVAL '1 hour');",
        ("s", "hourly", "refresh_policy"),
        RefreshPolicy,
    )
    assert found.start_offset is None


# -- columnstore settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        "timescaledb.compress, timescaledb.compress_segmentby = 'device', "
        "timescaledb.compress_orderby = 'ts DESC'",
        "timescaledb.enable_columnstore, timescaledb.segmentby = 'device', "
        "timescaledb.orderby = 'ts DESC'",
    ],
    ids=["compression", "columnstore"],
)
def test_columnstore_settings_read_alike_under_both_names(project, options):
    found = declared(
        project,
        HYPERTABLE + f"ALTER TABLE s.t SET ({options});",
        ("s", "t", "compression_settings"),
        ColumnstoreSettings,
    )
    assert (found.enabled, found.segmentby, found.orderby) == (True, "device", "ts DESC")
    assert len(found.options) == 3


# -- continuous aggregates ---------------------------------------------------------------------


def test_continuous_aggregate_bucket_groups_and_source(project):
    found = declared(project, HYPERTABLE + AGGREGATE, ("s", "hourly"), ContinuousAggregate)
    assert found.bucket is not None
    assert str(found.bucket.width).lower() == "1 hour"
    assert found.bucket.alias == "bucket"
    assert found.bucket.column is not None and found.bucket.column.sql() == "t.ts"
    assert found.bucket.plain
    assert found.group_columns == ("bucket", "device")
    assert found.sources == (("s", "t"),)
    assert found.materialized_only is True
    assert found.with_data is False


def test_a_bucket_with_an_origin_is_not_plain(project):
    found = declared(
        project,
        HYPERTABLE + "CREATE MATERIALIZED VIEW s.daily WITH (timescaledb.continuous) AS SELECT "
        "time_bucket(INTERVAL '1 day', ts, origin => '2000-01-01') AS day, count(*) AS n "
        "FROM s.t GROUP BY 1;",
        ("s", "daily"),
        ContinuousAggregate,
    )
    assert found.bucket is not None and not found.bucket.plain
    assert found.bucket.origin == "2000-01-01"
    assert found.group_columns == ("day",)


def test_a_group_that_is_no_output_column_says_why(project):
    found = declared(
        project,
        HYPERTABLE + "CREATE MATERIALIZED VIEW s.daily WITH (timescaledb.continuous) AS SELECT "
        "time_bucket(INTERVAL '1 day', ts) AS day, count(*) AS n FROM s.t GROUP BY day, device;",
        ("s", "daily"),
        ContinuousAggregate,
    )
    assert found.group_columns is None
    assert found.group_problem is not None and "GROUP BY device" in found.group_problem


# -- tables ------------------------------------------------------------------------------------

TABLES = """\
CREATE SCHEMA s;
CREATE TABLE s.devices (id int PRIMARY KEY, name text UNIQUE);
CREATE TABLE s.readings (
    id bigint GENERATED ALWAYS AS IDENTITY,
    device int NOT NULL REFERENCES s.devices (id),
    ts timestamptz NOT NULL DEFAULT now(),
    value numeric(10, 2) CHECK (value >= 0),
    doubled numeric GENERATED ALWAYS AS (value * 2) STORED,
    CONSTRAINT readings_pk PRIMARY KEY (id, ts),
    EXCLUDE USING gist (device WITH =)
) PARTITION BY RANGE (ts);
ALTER TABLE s.readings ADD CONSTRAINT readings_device_ts UNIQUE (device, ts);
"""


def test_table_columns_keys_and_partitioning(project):
    project.write("sql/a.sql", TABLES)
    table = project.graph()[("s", "readings")].declared(TableDefinition)
    assert table.columns is not None
    assert [c.name for c in table.columns] == ["id", "device", "ts", "value", "doubled"]
    id_, device, ts, value, doubled = table.columns
    assert id_.identity == "a" and id_.not_null  # in the primary key
    assert device.not_null and device.default is None
    assert isinstance(ts.default, exp.CurrentTimestamp)  # now()
    assert value.data_type is not None and value.data_type.sql() == "DECIMAL(10, 2)"
    assert not value.not_null
    assert doubled.generated is not None
    assert ts.line == 6
    kinds = [(k.kind, k.name, k.columns, k.statement) for k in table.keys]
    assert kinds == [
        (KeyKind.FOREIGN, None, ("device",), 0),
        (KeyKind.CHECK, None, ("value",), 0),
        (KeyKind.PRIMARY, "readings_pk", ("id", "ts"), 0),
        (KeyKind.EXCLUSION, None, (), 0),
        (KeyKind.UNIQUE, "readings_device_ts", ("device", "ts"), 1),
    ]
    assert table.keys[0].referenced == ("s", "devices")
    assert table.partitioning == Partitioning("range", ("ts",))


def test_inline_keys_are_column_level(project):
    project.write("sql/a.sql", TABLES)
    devices = project.graph()[("s", "devices")].declared(TableDefinition)
    assert [(k.kind, k.columns, k.column_level) for k in devices.keys] == [
        (KeyKind.PRIMARY, ("id",), True),
        (KeyKind.UNIQUE, ("name",), True),
    ]
    assert devices.partitioning is None


def test_a_partition_takes_its_columns_from_its_parent(project):
    project.write(
        "sql/a.sql",
        TABLES + "CREATE TABLE s.readings_2024 PARTITION OF s.readings "
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n",
    )
    partition = project.graph()[("s", "readings_2024")].declared(TableDefinition)
    assert partition.columns is None


def test_amendments_add_columns_and_keys_with_their_statement(project):
    project.write(
        "sql/a.sql",
        TABLES
        + "ALTER TABLE s.devices ADD COLUMN note text NOT NULL;\n"
        + "ALTER TABLE s.devices ADD CONSTRAINT devices_named CHECK (name <> '') NOT VALID;\n",
    )
    devices = project.graph()[("s", "devices")].declared(TableDefinition)
    assert [c.name for c in devices.columns or ()] == ["id", "name"]
    (note,) = devices.added_columns
    assert (note.name, note.not_null, note.default, note.statement) == ("note", True, None, 1)
    check = devices.keys[-1]
    assert (check.kind, check.name, check.statement, check.not_valid) == (
        KeyKind.CHECK,
        "devices_named",
        2,
        True,
    )


def test_each_column_keeps_its_type_as_sqlglot_writes_it(project):
    # Types without parameters are written once per kind: the same text as each column's own.
    project.write(
        "sql/a.sql",
        """CREATE SCHEMA s;
CREATE TABLE s.a (x bigint, y text, z timestamptz, w numeric(10, 2), v int[], u "MyType",
    t varchar(20), r double precision, q timestamp(3) with time zone);
CREATE TABLE s.b (x bigint, y text, z timestamptz, w numeric, v text[], u interval);
ALTER TABLE s.b ADD COLUMN n varchar;
""",
    )
    graph = project.graph()
    definitions = [graph[("s", table)].declared(TableDefinition) for table in ("a", "b")]
    columns = [c for d in definitions for c in (*(d.columns or ()), *d.added_columns)]
    assert len(columns) == 16
    for column in columns:
        assert column.data_type is not None
        assert column.type_sql == column.data_type.sql(DIALECT)
