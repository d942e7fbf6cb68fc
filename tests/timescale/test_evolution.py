"""Declarative evolution and `platform plan` on real TimescaleDB code (the WebAssembly test
server), against a hypertable whose chunks hold rows, some of them compressed, with its
compression settings, compression policy and retention policy declared.

The session shares one server (tests/timescale/conftest.py), which takes one connection at
a time: every test uses its own schema and closes its connections before the code under test
runs.
"""

from __future__ import annotations

import pytest
from psycopg import sql

from tests.support.cli import plan, statements
from tests.support.project import Project
from tests.support.runs import (
    allow,
    failure_message,
    in_sync,
    materializations,
    materialize,
    verify,
)
from tests.support.timescale import TimescaleServer

pytestmark = pytest.mark.timescaledb

# {columns} are the columns after (ts, device); line 3 is the CREATE TABLE.
READINGS = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA {schema};
CREATE TABLE {schema}.readings (
    ts timestamptz NOT NULL,
    device int NOT NULL,
{columns}
);
SELECT create_hypertable('{schema}.readings', by_range('ts', INTERVAL '1 day'));
ALTER TABLE {schema}.readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');
SELECT add_compression_policy('{schema}.readings', compress_after => INTERVAL '{compress_after}');
SELECT add_retention_policy('{schema}.readings', drop_after => INTERVAL '{drop_after}');
"""


def readings(
    schema: str, columns: str, compress_after: str = "7 days", drop_after: str = "90 days"
) -> str:
    return READINGS.format(
        schema=schema, columns=columns, compress_after=compress_after, drop_after=drop_after
    )


def fill(server: TimescaleServer, schema: str, values: str) -> int:
    """Rows every 6 hours over the last 20 days for devices 1 and 2 (`values` gives the
    columns after ts and device, in terms of d and t); returns how many."""
    server.query(
        sql.SQL(
            "INSERT INTO {} SELECT t, d, {} FROM generate_series(now() - INTERVAL '20 days', "
            "now(), INTERVAL '6 hours') t, generate_series(1, 2) d"
        ).format(sql.Identifier(schema, "readings"), sql.SQL(values))
    )
    return server.value(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "readings"))
    )


def create(
    project: Project, server: TimescaleServer, schema: str, columns: str, values: str
) -> int:
    """Declare and materialize the hypertable, fill it and compress its old chunks."""
    project.write("sql/ts.sql", readings(schema, columns))
    materialize(project.graph(), server.url)
    rows = fill(server, schema, values)
    server.compress_old_chunks(schema)
    chunks, compressed = server.chunks(schema)
    assert chunks > compressed > 0
    return rows


def test_column_added_to_a_compressed_hypertable_is_planned_as_one_alter_then_applied(
    project, server
):
    rows = create(project, server, "added", "    value float8", "d * 1.5")
    jobs = server.jobs("added")

    project.write("sql/ts.sql", readings("added", "    value float8,\n    unit varchar(8)"))
    pending = plan(project, server)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    assert statements(pending) == [
        '[ACCESS EXCLUSIVE] ALTER TABLE "added"."readings" ADD COLUMN unit VARCHAR(8);'
    ]
    assert "unit" not in server.columns("added")  # planning changed nothing

    result = materialize(project.graph(), server.url)
    done = materializations(result)
    assert done["added/readings"]["action"] == "updated"
    assert done["added/readings"]["statements_executed"] == 1
    assert server.columns("added")["unit"] == "character varying(8)"
    assert in_sync(result, "added/readings").passed
    # The rest of the hypertable is as it was: rows, compressed chunks, policy jobs.
    assert {key: values["action"] for key, values in done.items() if key != "added/readings"} == {
        key: "unchanged" for key in done if key != "added/readings"
    }
    assert server.value("SELECT count(*) FROM added.readings") == rows
    assert server.chunks("added")[1] > 0
    assert server.jobs("added") == jobs
    clean = plan(project, server)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_check_added_to_a_compressed_hypertable_is_validated_in_one_statement(project, server):
    """TimescaleDB refuses VALIDATE CONSTRAINT on a hypertable with columnstore enabled,
    so the NOT VALID-then-VALIDATE of a plain table cannot be used there."""
    rows = create(project, server, "checked", "    value float8", "d * 1.5")
    declared = "    value float8,\n    CONSTRAINT readings_value_sane CHECK (value >= 0)"
    project.write("sql/ts.sql", readings("checked", declared))
    result = materialize(project.graph(), server.url)
    done = materializations(result)["checked/readings"]
    assert done["action"] == "updated"
    assert done["sql_executed"] == (
        '```sql\nALTER TABLE "checked"."readings" ADD CONSTRAINT "readings_value_sane" '
        "CHECK (value >= 0);\n```"
    )
    assert server.query(
        "SELECT pg_get_constraintdef(oid) AS definition, convalidated FROM pg_constraint "
        "WHERE conname = 'readings_value_sane' AND conrelid = 'checked.readings'::regclass"
    ) == [{"definition": "CHECK ((value >= (0)::double precision))", "convalidated": True}]
    assert in_sync(result, "checked/readings").passed
    assert server.value("SELECT count(*) FROM checked.readings") == rows

    # A row that breaks it: the constraint is not added, the table is as it was.
    server.query("INSERT INTO checked.readings VALUES (now(), 1, 500)")
    tighter = declared.replace("value >= 0", "value >= 0 AND value < 100")
    project.write("sql/ts.sql", readings("checked", tighter))
    refused = materialize(project.graph(), server.url, raise_on_error=False)
    assert "is violated by some row" in failure_message(refused)
    live = (
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conname = 'readings_value_sane' AND conrelid = 'checked.readings'::regclass"
    )
    assert server.value(live) == ("CHECK ((value >= (0)::double precision))")


def test_dropped_column_on_a_hypertable_is_refused_with_its_row_count_until_allowed(
    project, server
):
    columns = "    value float8,\n    note text"
    rows = create(project, server, "dropped", columns, "d * 1.5, CASE WHEN d = 1 THEN 'n' END")
    notes = server.value("SELECT count(note) FROM dropped.readings")
    assert 0 < notes < rows
    total = server.value("SELECT sum(value) FROM dropped.readings")

    project.write("sql/ts.sql", readings("dropped", "    value float8"))
    refused = materialize(project.graph(), server.url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "sql/ts.sql:3: table dropped.readings: refused destructive change(s)" in message
    assert (
        f"dropping column note loses its {notes} non-null value(s) ({rows} row(s) in the table)"
    ) in message
    assert '"allow_destructive": ["dropped/readings"]' in message
    assert "note" in server.columns("dropped")  # rolled back: the table is as it was
    assert server.value("SELECT count(note) FROM dropped.readings") == notes
    check = verify(project.graph(), server.url)["dropped/readings"]
    assert not check.passed
    assert "refused destructive change(s): dropping column note" in check.description

    allowed_plan = plan(project, server, "--allow-destructive", "dropped/readings")
    assert allowed_plan.returncode == 2, allowed_plan.stdout
    assert statements(allowed_plan) == [
        '[ACCESS EXCLUSIVE] [DELETES DATA] ALTER TABLE "dropped"."readings" DROP COLUMN "note";'
    ]

    # TimescaleDB drops a column from compressed chunks too.
    result = materialize(project.graph(), server.url, run_config=allow("dropped/readings"))
    done = materializations(result)["dropped/readings"]
    assert done["action"] == "updated"
    assert done["destructive_changes"] == [
        f"dropping column note loses its {notes} non-null value(s) ({rows} row(s) in the table)"
    ]
    assert list(server.columns("dropped")) == ["ts", "device", "value"]
    assert server.value("SELECT count(*) FROM dropped.readings") == rows
    assert server.value("SELECT sum(value) FROM dropped.readings") == total
    assert server.chunks("dropped")[1] > 0
    assert in_sync(result, "dropped/readings").passed


def test_dropping_a_segmentby_column_is_refused_naming_the_compression_setting(project, server):
    rows = create(project, server, "seg", "    site int NOT NULL", "d + 10")
    # The user drops device, and segments by site instead.
    declared = (
        readings("seg", "    site int NOT NULL")
        .replace("    device int NOT NULL,\n", "")
        .replace("compress_segmentby = 'device'", "compress_segmentby = 'site'")
    )
    project.write("sql/ts.sql", declared)
    for run_config in (None, allow("seg/readings")):
        refused = materialize(
            project.graph(), server.url, raise_on_error=False, run_config=run_config
        )
        assert not refused.success
        message = failure_message(refused)
        assert "sql/ts.sql:3: table seg.readings: cannot drop column device: " in message
        assert "columnstore (compression) settings name it (compress_segmentby = 'device')" in (
            message
        )
        assert "TimescaleDB refuses to drop a segmentby or orderby column" in message
        compressed = server.chunks("seg")[1]
        assert f"decompress the {compressed} chunk(s) compressed with it" in message
    assert "device" in server.columns("seg")
    assert server.value("SELECT count(device) FROM seg.readings") == rows


def widen(columns: str) -> str:
    """The hypertable with its orderby and a sparse index set too (TimescaleDB 2.22+)."""
    return readings("wide", columns).replace(
        "compress_segmentby = 'device'",
        "compress_segmentby = 'device', timescaledb.compress_orderby = 'ts DESC', "
        "timescaledb.sparse_index = 'bloom(label)'",
    )


def test_widened_types_on_a_hypertable_with_columnstore_are_applied_keeping_values(project, server):
    project.write("sql/ts.sql", widen("    visits int,\n    label varchar(20)"))
    materialize(project.graph(), server.url)
    rows = fill(server, "wide", "2147483647, 'device ' || d")
    jobs = server.jobs("wide")
    settings = server.compression_settings("wide")
    assert {"type": "bloom", "column": "label", "source": "config"} in settings["index"]

    widened = "    visits bigint,\n    label varchar(50)"
    project.write("sql/ts.sql", widen(widened))
    # int -> bigint rewrites every chunk, which hold rows: allowed explicitly.
    pending = plan(project, server, "--allow-destructive", "wide/readings")
    assert pending.returncode == 2, pending.stdout + pending.stderr
    planned = statements(pending)
    assert not any("DELETES DATA" in line for line in planned)
    # TimescaleDB changes no type while columnstore is on: it is switched off around them.
    assert planned == [
        '[ACCESS EXCLUSIVE] ALTER TABLE "wide"."readings" SET (timescaledb.compress = false);',
        "[ACCESS EXCLUSIVE] [TABLE REWRITE] "
        'ALTER TABLE "wide"."readings" ALTER COLUMN "visits" TYPE bigint;',
        "[ACCESS EXCLUSIVE] "
        'ALTER TABLE "wide"."readings" ALTER COLUMN "label" TYPE character varying(50);',
        '[ACCESS EXCLUSIVE] ALTER TABLE "wide"."readings" SET (timescaledb.compress, '
        "timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 'ts DESC', "
        "timescaledb.sparse_index = 'bloom(\"label\")');",
    ], pending.stdout
    assert server.columns("wide")["visits"] == "integer"

    result = materialize(project.graph(), server.url, run_config=allow("wide/readings"))
    done = materializations(result)
    assert done["wide/readings"]["action"] == "updated"
    assert server.columns("wide") == {
        "ts": "timestamp with time zone",
        "device": "integer",
        "visits": "bigint",
        "label": "character varying(50)",
    }
    assert server.query(
        "SELECT count(*) AS n, min(visits) AS low, max(visits) AS high, "
        "count(DISTINCT label) AS labels FROM wide.readings"
    ) == [{"n": rows, "low": 2147483647, "high": 2147483647, "labels": 2}]
    # The columnstore settings and the policies are the declared ones still.
    assert done["wide/readings/compression_settings"]["action"] == "unchanged"
    assert done["wide/readings/compression_settings"]["compression_settings"]["segmentby"] == (
        "device"
    )
    assert server.jobs("wide") == jobs
    assert server.compression_settings("wide") == settings
    assert in_sync(result, "wide/readings").passed
    server.query("INSERT INTO wide.readings VALUES (now(), 3, 2147483648, repeat('x', 50))")

    # With compressed chunks TimescaleDB cannot change a column's type: refused, saying why.
    server.compress_old_chunks("wide")
    compressed = server.chunks("wide")[1]
    assert compressed > 0
    project.write("sql/ts.sql", widen(widened.replace("varchar(50)", "text")))
    refused = materialize(project.graph(), server.url, raise_on_error=False)
    assert not refused.success
    message = failure_message(refused)
    assert "sql/ts.sql:3: table wide.readings: cannot change the type of column label" in message
    assert f"{compressed} of its chunks are compressed" in message
    assert "decompress_chunk" in message
    assert server.columns("wide")["label"] == "character varying(50)"

    server.query("SELECT decompress_chunk(c, true) FROM show_chunks('wide.readings') c")
    result = materialize(project.graph(), server.url)
    assert server.columns("wide")["label"] == "text"
    assert server.value("SELECT count(*) FROM wide.readings") == rows + 1
    assert in_sync(result, "wide/readings").passed


AGGREGATE = """\
CREATE MATERIALIZED VIEW pol.hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n
    FROM pol.readings GROUP BY 1, 2 WITH NO DATA;
SELECT add_continuous_aggregate_policy('pol.hourly', start_offset => INTERVAL '{start}',
    end_offset => INTERVAL '{end}', schedule_interval => INTERVAL '1 hour');
"""


def test_changed_policies_are_planned_as_alter_job_and_keep_their_job_ids(project, server):
    project.write("sql/ts.sql", readings("pol", "    value float8"))
    project.write("sql/z_hourly.sql", AGGREGATE.format(start="3 days", end="1 hour"))
    materialize(project.graph(), server.url)
    fill(server, "pol", "d")
    before = server.jobs("pol")
    assert set(before) == {
        "policy_compression",
        "policy_retention",
        "policy_refresh_continuous_aggregate",
    }

    project.write(
        "sql/ts.sql",
        readings("pol", "    value float8", compress_after="14 days", drop_after="180 days"),
    )
    project.write("sql/z_hourly.sql", AGGREGATE.format(start="5 days", end="2 hours"))
    pending = plan(project, server)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    planned = [line for line in statements(pending) if "alter_job" in line]
    assert len(planned) == 3 and len(statements(pending)) == 3, pending.stdout
    for key, job in before.items():
        assert any(f"alter_job({job['job_id']}," in line for line in planned), (key, planned)
    assert server.jobs("pol") == before  # planning changed nothing

    result = materializations(materialize(project.graph(), server.url))
    after = server.jobs("pol")
    assert {key: job["job_id"] for key, job in after.items()} == {
        key: job["job_id"] for key, job in before.items()
    }
    assert after["policy_compression"]["config"]["compress_after"] == "14 days"
    assert after["policy_retention"]["config"]["drop_after"] == "180 days"
    refresh = after["policy_refresh_continuous_aggregate"]["config"]
    assert (refresh["start_offset"], refresh["end_offset"]) == ("5 days", "02:00:00")
    assert result["pol/readings/retention_policy"]["previous_config"]["drop_after"] == "90 days"
    assert result["pol/hourly/refresh_policy"]["action"] == "updated"
    clean = plan(project, server)
    assert clean.returncode == 0, clean.stdout


ORPH_SCHEMA = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA orph;
"""
HYPERTABLE = """\
CREATE TABLE orph.readings (ts timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('orph.readings', 'ts', chunk_time_interval => INTERVAL '1 day',
    associated_schema_name => 'orph');
ALTER TABLE orph.readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');
SELECT add_compression_policy('orph.readings', compress_after => INTERVAL '7 days');
CREATE MATERIALIZED VIEW orph.hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n
    FROM orph.readings GROUP BY 1, 2 WITH NO DATA;
"""
INDEX = "CREATE INDEX idx_readings_device ON orph.readings (device, ts DESC);\n"
NOTES = "CREATE TABLE orph.notes (body text);\n"


def test_removed_declarations_are_orphans_and_timescaledb_internals_never_are(project, server):
    """The hypertable keeps its chunks in its own schema (associated_schema_name), so its
    chunks and their indexes sit beside the declared objects."""
    project.write("sql/a_schema.sql", ORPH_SCHEMA)
    project.write("sql/b_readings.sql", HYPERTABLE + INDEX)
    project.write("sql/c_notes.sql", NOTES)
    materialize(project.graph(), server.url)
    rows = fill(server, "orph", "d")
    server.query("INSERT INTO orph.notes VALUES ('keep me'), ('and me')")
    server.compress_old_chunks("orph")
    chunks = server.value(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'orph' AND c.relname LIKE '\\_hyper\\_%'"
    )
    assert chunks > 10  # the chunks and their indexes live in orph
    assert server.value("SELECT to_regclass('orph.readings_ts_idx') IS NOT NULL")  # TimescaleDB's
    assert server.chunks("orph")[1] > 0

    clean = plan(project, server)
    assert clean.returncode == 0, clean.stdout
    assert "orphan:" not in clean.stdout

    (project.root / "sql/c_notes.sql").unlink()
    project.write("sql/b_readings.sql", HYPERTABLE)
    pending = plan(project, server)
    assert pending.returncode == 0, pending.stdout
    assert [line for line in pending.stdout.splitlines() if line.startswith("orphan:")] == [
        "orphan: index orph.idx_readings_device (on readings) is not declared in sql/ (kept)",
        "orphan: table orph.notes (2 row(s)) is not declared in sql/ (kept)",
    ]
    done = materializations(materialize(project.graph(), server.url))
    assert done["orph/schema"]["orphans"] == [
        "index orph.idx_readings_device (on readings)",
        "table orph.notes (2 row(s))",
    ]

    # The hypertable's own declaration removed: the table, its aggregate and the hand-made
    # index are orphans; its default time index, chunks and internal tables are not.
    (project.root / "sql/b_readings.sql").unlink()
    pending = plan(project, server)
    assert [line for line in pending.stdout.splitlines() if line.startswith("orphan:")] == [
        "orphan: continuous aggregate orph.hourly is not declared in sql/ (kept)",
        "orphan: index orph.idx_readings_device (on readings) is not declared in sql/ (kept)",
        "orphan: table orph.notes (2 row(s)) is not declared in sql/ (kept)",
        f"orphan: table orph.readings ({rows} row(s)) is not declared in sql/ (kept)",
    ]
    done = materializations(materialize(project.graph(), server.url))
    assert len(done["orph/schema"]["orphans"]) == 4
    assert server.value("SELECT count(*) FROM orph.readings") == rows
    assert server.value("SELECT count(*) FROM orph.notes") == 2
    assert server.value("SELECT to_regclass('orph.idx_readings_device') IS NOT NULL")
    assert server.value("SELECT to_regclass('orph.hourly') IS NOT NULL")
