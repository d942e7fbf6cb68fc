"""`platform import` of a TimescaleDB database: declarations rebuilt from its catalog.

A database built by hand with every TimescaleDB declaration (hypertables in both forms, a
hash dimension, columnstore, every policy kind with settings other than the defaults, a
hierarchical continuous aggregate, integer time with its now function, a user-defined job,
run limits other than the defaults) is imported; the project adopts it, and materialized
into a fresh server gives the same `timescaledb_information` rows and, imported again, the
same files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_assets.adopt.importer import import_database
from platform_assets.adopt.timescale import hypertable_statements, job_statement
from platform_assets.live.timescale_declared import LiveDimension, LiveHypertableDeclaration
from platform_assets.model.errors import SchemaError
from platform_assets.parse.compiler import compile_directory
from tests.support.adoption import assert_adopts, files_of
from tests.support.project import REPO, SYSTEMS, Project
from tests.support.runs import materialize
from tests.support.timescale import TimescaleServer

HAND_BUILT = """\
CREATE SCHEMA metrics;
CREATE TABLE metrics.conditions (
    time timestamptz NOT NULL, device int NOT NULL, temperature double precision
);
SELECT create_hypertable('metrics.conditions', by_range('time', INTERVAL '6 hours'));
SELECT add_dimension('metrics.conditions', by_hash('device', 4));
ALTER TABLE metrics.conditions SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 'time DESC');
SELECT add_compression_policy('metrics.conditions', compress_after => INTERVAL '3 days',
    schedule_interval => INTERVAL '5 hours');
SELECT alter_job(add_retention_policy('metrics.conditions', drop_after => INTERVAL '60 days',
    schedule_interval => INTERVAL '2 days'), max_runtime => INTERVAL '10 minutes',
    max_retries => 3, retry_period => INTERVAL '15 minutes');
CREATE TABLE metrics."Legacy Readings" (ts timestamptz NOT NULL, v int);
SELECT create_hypertable('metrics."Legacy Readings"', 'ts',
    chunk_time_interval => INTERVAL '2 days');
CREATE INDEX legacy_v ON metrics."Legacy Readings" (v, ts);
SELECT add_reorder_policy('metrics."Legacy Readings"', 'legacy_v');
CREATE MATERIALIZED VIEW metrics.conditions_hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket('1 hour', time) AS bucket, device, avg(temperature) AS avg_t
    FROM metrics.conditions GROUP BY 1, 2 WITH NO DATA;
SELECT add_continuous_aggregate_policy('metrics.conditions_hourly',
    start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes');
CREATE MATERIALIZED VIEW metrics.conditions_daily WITH (timescaledb.continuous) AS
    SELECT time_bucket('1 day', bucket) AS day, device, max(avg_t) AS max_t
    FROM metrics.conditions_hourly GROUP BY 1, 2 WITH NO DATA;
SELECT alter_job(add_continuous_aggregate_policy('metrics.conditions_daily',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '1 day'), retry_period => INTERVAL '2 hours');
CREATE TABLE metrics.readings (ts bigint NOT NULL, v int);
SELECT create_hypertable('metrics.readings', by_range('ts', 86400000));
CREATE FUNCTION metrics.now_ms() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;
SELECT set_integer_now_func('metrics.readings', 'metrics.now_ms');
SELECT add_retention_policy('metrics.readings', drop_after => 604800000,
    initial_start => '2030-01-01 03:00:00+00');
CREATE PROCEDURE metrics.forget(job_id int, config jsonb) LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM metrics.readings WHERE v < (config->>'below')::int;
END
$$;
SELECT alter_job(add_job('metrics.forget', '2 hours', config => '{"below": 5}'), max_retries => 5);
"""

# What TimescaleDB says of the user's schema, without its own ids and internal names.
FACTS = {
    "hypertables": "SELECT hypertable_schema, hypertable_name, num_dimensions, "
    "compression_enabled FROM timescaledb_information.hypertables "
    "WHERE hypertable_schema = 'metrics' ORDER BY 1, 2",
    "dimensions": "SELECT hypertable_name, dimension_number, column_name, dimension_type, "
    "time_interval, integer_interval, integer_now_func, num_partitions "
    "FROM timescaledb_information.dimensions WHERE hypertable_schema = 'metrics' ORDER BY 1, 2",
    "columnstore": "SELECT hypertable::text, segmentby, orderby "
    "FROM timescaledb_information.hypertable_columnstore_settings "
    "WHERE hypertable::text LIKE 'metrics.%' ORDER BY 1",
    "jobs": "SELECT proc_schema, proc_name, hypertable_name, schedule_interval, max_runtime, "
    "max_retries, retry_period, scheduled, fixed_schedule, initial_start, "
    "config - 'hypertable_id' - 'mat_hypertable_id' AS config "
    "FROM timescaledb_information.jobs WHERE job_id >= 1000 ORDER BY 2, 3, 4",
    "aggregates": "SELECT view_name, materialized_only, finalized, view_definition "
    "FROM timescaledb_information.continuous_aggregates "
    "WHERE view_schema = 'metrics' ORDER BY 1",
}


def facts(server: TimescaleServer) -> dict[str, list[tuple]]:
    return {name: server.rows(query) for name, query in FACTS.items()}


def test_timescale_database_is_adopted_and_round_trips(
    server: TimescaleServer, fresh_server: TimescaleServer, tmp_path: Path
):
    with server.connect() as conn:
        conn.execute(HAND_BUILT)
    source_facts = facts(server)
    assert len(source_facts["jobs"]) == 7 and len(source_facts["aggregates"]) == 2

    imported = Project(tmp_path / "one")
    import_database(server.url, imported.root)
    files = files_of(imported)
    assert set(files) == {
        "metrics/00_schema.sql",
        "metrics/10_functions.sql",
        "metrics/30_tables.sql",
        "metrics/50_aggregates.sql",
        "metrics/60_jobs.sql",
        "platform/00_schema.sql",
    }
    tables = files["metrics/30_tables.sql"]
    assert "SELECT add_dimension('metrics.conditions', by_hash('device', 4))" in tables
    assert """by_range('ts', INTERVAL '2 days')""" in tables  # the legacy form, as it is now
    assert "SELECT set_integer_now_func('metrics.readings', 'metrics.now_ms')" in tables
    assert "ts_insert_blocker" not in tables and "_timescaledb_internal" not in tables
    # Run limits other than TimescaleDB's defaults, around the call adding the job.
    assert (
        "SELECT alter_job(add_retention_policy('metrics.conditions', drop_after => "
        "INTERVAL '60 days', schedule_interval => INTERVAL '2 days'), max_runtime => "
        "INTERVAL '00:10:00', max_retries => 3, retry_period => INTERVAL '00:15:00')" in tables
    )
    assert "max_retries => 5" in files["metrics/60_jobs.sql"]
    aggregates = files["metrics/50_aggregates.sql"]
    assert "retry_period => INTERVAL '02:00:00')" in aggregates
    assert aggregates.index("conditions_hourly\n") < aggregates.index("conditions_daily\n")
    assert_adopts(imported, server)
    assert facts(server) == source_facts  # adopting changed nothing

    assert materialize(imported.graph(), fresh_server.url).success
    assert facts(fresh_server) == source_facts
    again = Project(tmp_path / "two")
    import_database(fresh_server.url, again.root)
    assert files_of(again) == files


def test_five_systems_on_timescaledb_are_adopted_and_round_trip(
    server: TimescaleServer, fresh_server: TimescaleServer, tmp_path: Path
):
    assert materialize(compile_directory(REPO / "sql", REPO), server.url).success
    imported = Project(tmp_path / "one")
    import_database(server.url, imported.root, list(SYSTEMS))
    assert {path.split("/")[0] for path in files_of(imported)} == {*SYSTEMS, "platform"}
    assert_adopts(imported, server)

    assert materialize(imported.graph(), fresh_server.url).success
    again = Project(tmp_path / "two")
    import_database(fresh_server.url, again.root, list(SYSTEMS))
    assert files_of(again) == files_of(imported)


def test_what_no_add_call_declares_is_named(server: TimescaleServer, tmp_path: Path):
    with server.connect() as conn:
        conn.execute(
            "CREATE SCHEMA metrics; "
            "CREATE TABLE metrics.readings (ts timestamptz NOT NULL, v int); "
            "SELECT create_hypertable('metrics.readings', by_range('ts')); "
            "CREATE INDEX readings_v ON metrics.readings (v, ts)"
        )
        job = conn.execute("SELECT add_reorder_policy('metrics.readings', 'readings_v')")
        job_id = job.fetchone()[0]
        conn.execute("SELECT alter_job(%s, schedule_interval => INTERVAL '2 days')", (job_id,))
    with pytest.raises(SchemaError, match=r"reorder policy job \d+ on metrics.readings"):
        import_database(server.url, tmp_path / "one")
    assert not (tmp_path / "one" / "sql").exists()
    with server.connect() as conn:
        conn.execute(
            "SELECT alter_job(%s, schedule_interval => INTERVAL '1 day', scheduled => false)",
            (job_id,),
        )
    with pytest.raises(SchemaError, match=r"job \d+ \(_timescaledb_functions.policy_reorder\)"):
        import_database(server.url, tmp_path / "one")


def test_job_settings_no_add_call_takes_are_named(server: TimescaleServer, tmp_path: Path):
    with server.connect() as conn:
        conn.execute(
            "CREATE SCHEMA metrics; "
            "CREATE TABLE metrics.readings (ts timestamptz NOT NULL, v int); "
            "SELECT create_hypertable('metrics.readings', by_range('ts'))"
        )
        job_id = conn.execute(
            "SELECT add_retention_policy('metrics.readings', INTERVAL '7 days')"
        ).fetchone()[0]
        conn.execute(
            "SELECT alter_job(job_id, config => config || '{\"extra\": 1}') "
            "FROM timescaledb_information.jobs WHERE job_id = %s",
            (job_id,),
        )
    with pytest.raises(
        SchemaError,
        match=rf"add_retention_policy job {job_id} on metrics.readings: settings \['extra'\] "
        "cannot be declared",
    ):
        import_database(server.url, tmp_path / "one")
    assert not (tmp_path / "one" / "sql").exists()


def test_a_first_dimension_by_hash_is_named():
    # TimescaleDB itself refuses to make one ("cannot partition using a closed dimension on
    # primary column"): the import still names it rather than write a wrong call.
    table = LiveHypertableDeclaration(
        "metrics", "readings", "metrics.readings", [LiveDimension("id", 4, None, False)]
    )
    with pytest.raises(SchemaError, match=r"hypertable metrics.readings: its first dimension"):
        hypertable_statements(table)


def test_a_timescale_job_of_no_known_policy_is_named():
    # TimescaleDB's own procedure on a user's hypertable that no add_* call makes.
    job = {
        "job_id": 1007,
        "proc_schema": "_timescaledb_functions",
        "proc_name": "policy_recompression",
        "procedure": "_timescaledb_functions.policy_recompression",
        "relation": "metrics.readings",
        "schedule_interval": "1 day",
        "config": {},
        "scheduled": True,
        "initial_start": None,
    }
    with pytest.raises(SchemaError, match=r"job 1007 \(.*policy_recompression\) on metrics.read"):
        job_statement(job)
