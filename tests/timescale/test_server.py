"""The TimescaleDB test server (tests/timescale_server) does what the suite needs.

Run: .venv/bin/pytest tests/timescale/test_server.py -q

All tests share the session's server (one in-memory database, TimescaleDB
created when it started; tests/timescale/conftest.py); each test uses its own
tables. The server takes one connection at a time, so every test closes its
connection before the next one opens.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.timescale import TimescaleServer

pytestmark = pytest.mark.timescaledb


@pytest.fixture
def conn(server: TimescaleServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server.url, autocommit=True, row_factory=dict_row) as c:
        yield c


def make_metrics(conn: psycopg.Connection, name: str, days: int = 30) -> None:
    """A hypertable of hourly rows over the last `days` days, 1-day chunks."""
    conn.execute(
        f"CREATE TABLE {name} (ts timestamptz NOT NULL, device int NOT NULL, value float8)"
    )
    conn.execute(f"SELECT create_hypertable('{name}', by_range('ts', INTERVAL '1 day'))")
    conn.execute(
        f"INSERT INTO {name} SELECT g, (extract(epoch FROM g)::bigint / 3600) % 4, 1.0 "
        f"FROM generate_series(now() - INTERVAL '{days} days', now(), INTERVAL '1 hour') g"
    )


def job(conn: psycopg.Connection, job_id: int) -> dict:
    row = conn.execute(
        "SELECT * FROM timescaledb_information.jobs WHERE job_id = %s", (job_id,)
    ).fetchone()
    assert row is not None, f"job {job_id} not in timescaledb_information.jobs"
    return row


# --------------------------------------------------------------------- basics


def test_create_extension(server: TimescaleServer, conn: psycopg.Connection) -> None:
    assert server.url.startswith("postgresql://postgres@127.0.0.1:")
    assert "timescaledb" not in server.extensions_before  # not pre-created
    assert server.create_status == "CREATE EXTENSION"
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    assert row["extversion"].startswith("2.23.")
    assert conn.execute("SHOW server_version").fetchone()["server_version"].startswith("17.")


def test_connection_parameters(server: TimescaleServer) -> None:
    # Any user/password/database and sslmode=prefer (libpq's default) connect.
    port = server.url.split(":")[-1].split("/")[0]
    for dsn in (
        server.url,
        f"postgresql://postgres@127.0.0.1:{port}/postgres",
        f"host=127.0.0.1 port={port} user=someone password=whatever dbname=other",
    ):
        with psycopg.connect(dsn, autocommit=True) as c:
            user, db, one = c.execute(
                "SELECT current_user, current_database(), %s::int", (1,)
            ).fetchone()
            assert (user, db, one) == ("postgres", "template1", 1)
    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require")


# ----------------------------------------------------------------- hypertables


def test_create_hypertable_by_range(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE ht_range (ts timestamptz NOT NULL, v int)")
    row = conn.execute(
        "SELECT * FROM create_hypertable('ht_range', by_range('ts', INTERVAL '1 day'))"
    ).fetchone()
    assert row["created"] is True
    assert row["hypertable_id"] >= 1
    ht = conn.execute(
        "SELECT * FROM timescaledb_information.hypertables WHERE hypertable_name = 'ht_range'"
    ).fetchone()
    assert ht["num_dimensions"] == 1
    assert ht["primary_dimension"] == "ts"
    assert ht["compression_enabled"] is False
    dim = conn.execute(
        "SELECT * FROM timescaledb_information.dimensions WHERE hypertable_name = 'ht_range'"
    ).fetchone()
    assert dim["dimension_type"] == "Time"
    assert dim["time_interval"] == timedelta(days=1)


def test_create_hypertable_legacy_form(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE ht_legacy (ts timestamptz NOT NULL, v int)")
    row = conn.execute(
        "SELECT * FROM create_hypertable("
        "'ht_legacy', 'ts', chunk_time_interval => INTERVAL '1 hour')"
    ).fetchone()
    assert row["table_name"] == "ht_legacy"
    assert row["schema_name"] == "public"
    assert row["created"] is True
    dim = conn.execute(
        "SELECT time_interval FROM timescaledb_information.dimensions "
        "WHERE hypertable_name = 'ht_legacy'"
    ).fetchone()
    assert dim["time_interval"] == timedelta(hours=1)
    # if_not_exists on an existing hypertable: not created again
    again = conn.execute(
        "SELECT * FROM create_hypertable('ht_legacy', 'ts', if_not_exists => TRUE)"
    ).fetchone()
    assert again["created"] is False


def test_add_dimension_by_hash(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE ht_hash (ts timestamptz NOT NULL, device int NOT NULL, v int)")
    conn.execute("SELECT create_hypertable('ht_hash', by_range('ts', INTERVAL '1 day'))")
    row = conn.execute("SELECT * FROM add_dimension('ht_hash', by_hash('device', 4))").fetchone()
    assert row["created"] is True
    dims = conn.execute(
        "SELECT column_name, dimension_type, num_partitions "
        "FROM timescaledb_information.dimensions WHERE hypertable_name = 'ht_hash' "
        "ORDER BY dimension_number"
    ).fetchall()
    assert dims == [
        {"column_name": "ts", "dimension_type": "Time", "num_partitions": None},
        {"column_name": "device", "dimension_type": "Space", "num_partitions": 4},
    ]
    conn.execute("INSERT INTO ht_hash SELECT now(), d, 1 FROM generate_series(0, 15) d")
    chunks = conn.execute(
        "SELECT count(*) AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'ht_hash'"
    ).fetchone()
    assert 1 < chunks["n"] <= 4  # one time slice, split by the hash dimension


def test_chunks_view(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_chunks", days=5)
    rows = conn.execute(
        "SELECT chunk_schema, range_start, range_end, is_compressed "
        "FROM timescaledb_information.chunks WHERE hypertable_name = 'ht_chunks' "
        "ORDER BY range_start"
    ).fetchall()
    assert 5 <= len(rows) <= 7
    assert all(r["chunk_schema"] == "_timescaledb_internal" for r in rows)
    assert all(r["range_end"] - r["range_start"] == timedelta(days=1) for r in rows)
    assert not any(r["is_compressed"] for r in rows)


# ----------------------------------------------------------------- compression


def test_compression_settings(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE ht_comp (ts timestamptz NOT NULL, device int NOT NULL, v float8)")
    conn.execute("SELECT create_hypertable('ht_comp', by_range('ts', INTERVAL '1 day'))")
    conn.execute(
        "ALTER TABLE ht_comp SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 'ts DESC')"
    )
    ht = conn.execute(
        "SELECT compression_enabled FROM timescaledb_information.hypertables "
        "WHERE hypertable_name = 'ht_comp'"
    ).fetchone()
    assert ht["compression_enabled"] is True
    settings = conn.execute(
        "SELECT segmentby, orderby FROM timescaledb_information.hypertable_compression_settings "
        "WHERE hypertable = 'ht_comp'::regclass"
    ).fetchone()
    assert settings == {"segmentby": "device", "orderby": "ts DESC"}


def test_compression_policy_run_job_compresses_old_chunks(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_cpol", days=30)
    conn.execute(
        "ALTER TABLE ht_cpol SET (timescaledb.compress, timescaledb.compress_segmentby = 'device', "
        "timescaledb.compress_orderby = 'ts DESC')"
    )
    job_id = conn.execute(
        "SELECT add_compression_policy('ht_cpol', INTERVAL '7 days') AS id"
    ).fetchone()["id"]
    assert isinstance(job_id, int) and job_id >= 1000
    j = job(conn, job_id)
    assert j["proc_name"] == "policy_compression"
    assert j["hypertable_name"] == "ht_cpol"
    assert j["config"]["compress_after"] == "7 days"
    assert j["scheduled"] is True

    def counts() -> tuple[int, int]:
        r = conn.execute(
            "SELECT count(*) AS total, count(*) FILTER (WHERE is_compressed) AS compressed "
            "FROM timescaledb_information.chunks WHERE hypertable_name = 'ht_cpol'"
        ).fetchone()
        return r["total"], r["compressed"]

    rows_before = conn.execute("SELECT count(*) AS n FROM ht_cpol").fetchone()["n"]
    total, compressed = counts()
    assert total >= 30 and compressed == 0

    conn.execute("CALL run_job(%s)", (job_id,))

    total_after, compressed_after = counts()
    assert total_after == total
    # chunks ending more than 7 days ago are compressed, the recent ones are not
    old = conn.execute(
        "SELECT count(*) AS n FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'ht_cpol' AND range_end < now() - INTERVAL '7 days'"
    ).fetchone()["n"]
    assert compressed_after == old and 20 <= old < total
    recent_compressed = conn.execute(
        "SELECT count(*) AS n FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'ht_cpol' AND is_compressed "
        "AND range_end > now() - INTERVAL '6 days'"
    ).fetchone()["n"]
    assert recent_compressed == 0
    assert conn.execute("SELECT count(*) AS n FROM ht_cpol").fetchone()["n"] == rows_before
    stats = conn.execute(
        "SELECT number_compressed_chunks FROM hypertable_compression_stats('ht_cpol')"
    ).fetchone()
    assert stats["number_compressed_chunks"] == old


def test_columnstore_policy_via_call(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_cs", days=10)
    conn.execute(
        "ALTER TABLE ht_cs SET (timescaledb.enable_columnstore, timescaledb.segmentby = 'device')"
    )
    conn.execute("CALL add_columnstore_policy('ht_cs', after => INTERVAL '3 days')")
    j = conn.execute(
        "SELECT * FROM timescaledb_information.jobs WHERE hypertable_name = 'ht_cs'"
    ).fetchone()
    assert j["proc_name"] == "policy_compression"
    assert j["config"]["compress_after"] == "3 days"
    conn.execute("CALL run_job(%s)", (j["job_id"],))
    n = conn.execute(
        "SELECT count(*) AS n FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'ht_cs' AND is_compressed"
    ).fetchone()["n"]
    assert n >= 5


# ------------------------------------------------------------ other policies


def test_retention_policy(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_ret", days=20)
    job_id = conn.execute(
        "SELECT add_retention_policy('ht_ret', drop_after => INTERVAL '10 days') AS id"
    ).fetchone()["id"]
    j = job(conn, job_id)
    assert j["proc_name"] == "policy_retention"
    assert j["config"]["drop_after"] == "10 days"
    assert j["schedule_interval"] == timedelta(days=1)
    chunks_before = conn.execute("SELECT count(*) AS n FROM show_chunks('ht_ret')").fetchone()["n"]
    conn.execute("CALL run_job(%s)", (job_id,))
    chunks_after = conn.execute("SELECT count(*) AS n FROM show_chunks('ht_ret')").fetchone()["n"]
    assert chunks_after < chunks_before
    oldest = conn.execute("SELECT now() - min(ts) AS age FROM ht_ret").fetchone()["age"]
    assert oldest <= timedelta(days=11)


def test_reorder_policy(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_reo", days=3)
    conn.execute("CREATE INDEX ht_reo_device_ts ON ht_reo (device, ts)")
    job_id = conn.execute(
        "SELECT add_reorder_policy('ht_reo', 'ht_reo_device_ts') AS id"
    ).fetchone()["id"]
    j = job(conn, job_id)
    assert j["proc_name"] == "policy_reorder"
    assert j["config"]["index_name"] == "ht_reo_device_ts"
    conn.execute("CALL run_job(%s)", (job_id,))
    assert conn.execute("SELECT count(*) AS n FROM ht_reo").fetchone()["n"] == 3 * 24 + 1


def test_alter_job(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_alter", days=2)
    conn.execute("ALTER TABLE ht_alter SET (timescaledb.compress)")
    job_id = conn.execute(
        "SELECT add_compression_policy('ht_alter', INTERVAL '7 days') AS id"
    ).fetchone()["id"]
    config = job(conn, job_id)["config"]
    config["compress_after"] = "3 days"
    row = conn.execute(
        "SELECT job_id, schedule_interval, config, next_start::text FROM alter_job(\n"
        "%s, config => %s::jsonb, schedule_interval => INTERVAL '2 hours')",
        (job_id, json.dumps(config)),
    ).fetchone()
    assert row["job_id"] == job_id
    assert row["schedule_interval"] == timedelta(hours=2)
    assert row["config"] == config
    assert row["next_start"] == "-infinity"  # psycopg cannot load it as a datetime
    j = job(conn, job_id)
    assert j["schedule_interval"] == timedelta(hours=2)
    assert j["config"] == config
    conn.execute("SELECT alter_job(%s, scheduled => false)", (job_id,))
    assert job(conn, job_id)["scheduled"] is False


# --------------------------------------------------------- continuous aggregates


def test_continuous_aggregate_with_no_data_then_refresh(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_cagg", days=4)
    conn.execute(
        "CREATE MATERIALIZED VIEW ht_cagg_1h WITH (timescaledb.continuous) AS "
        "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n "
        "FROM ht_cagg GROUP BY 1, 2 WITH NO DATA"
    )
    assert conn.execute("SELECT count(*) AS n FROM ht_cagg_1h").fetchone()["n"] == 0
    ca = conn.execute(
        "SELECT * FROM timescaledb_information.continuous_aggregates WHERE view_name = 'ht_cagg_1h'"
    ).fetchone()
    assert ca["hypertable_name"] == "ht_cagg"
    assert ca["materialized_only"] is True

    # refresh_continuous_aggregate refuses to run inside a transaction block
    with pytest.raises(psycopg.errors.ActiveSqlTransaction), conn.transaction():
        conn.execute("CALL refresh_continuous_aggregate('ht_cagg_1h', NULL, NULL)")

    conn.execute("CALL refresh_continuous_aggregate('ht_cagg_1h', NULL, NULL)")  # autocommit
    total = conn.execute("SELECT count(*) AS n FROM ht_cagg").fetchone()["n"]
    agg = conn.execute("SELECT count(*) AS buckets, sum(n) AS rows FROM ht_cagg_1h").fetchone()
    assert agg["rows"] == total
    assert agg["buckets"] == total  # one row per hour, one device per hour

    watermark = conn.execute(
        "SELECT _timescaledb_functions.to_timestamp("
        "_timescaledb_functions.cagg_watermark(mat_hypertable_id)) AS w "
        "FROM _timescaledb_catalog.continuous_agg WHERE user_view_name = 'ht_cagg_1h'"
    ).fetchone()["w"]
    newest = conn.execute("SELECT max(bucket) AS b FROM ht_cagg_1h").fetchone()["b"]
    assert watermark == newest + timedelta(hours=1)


def test_continuous_aggregate_policy(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_cagg2", days=4)
    conn.execute(
        "CREATE MATERIALIZED VIEW ht_cagg2_1d WITH (timescaledb.continuous) AS "
        "SELECT time_bucket(INTERVAL '1 day', ts) AS bucket, count(*) AS n "
        "FROM ht_cagg2 GROUP BY 1 WITH NO DATA"
    )
    job_id = conn.execute(
        "SELECT add_continuous_aggregate_policy('ht_cagg2_1d', start_offset => INTERVAL '10 days', "
        "end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes') AS id"
    ).fetchone()["id"]
    j = job(conn, job_id)
    assert j["proc_name"] == "policy_refresh_continuous_aggregate"
    assert j["config"]["start_offset"] == "10 days"
    assert j["config"]["end_offset"] == "01:00:00"
    assert j["schedule_interval"] == timedelta(minutes=30)
    conn.execute("CALL run_job(%s)", (job_id,))
    assert conn.execute("SELECT count(*) AS n FROM ht_cagg2_1d").fetchone()["n"] >= 4


def test_continuous_aggregate_with_no_data_inside_transaction(conn: psycopg.Connection) -> None:
    make_metrics(conn, "ht_cagg3", days=1)
    with conn.transaction():
        conn.execute(
            "CREATE MATERIALIZED VIEW ht_cagg3_1h WITH (timescaledb.continuous) AS "
            "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*) AS n "
            "FROM ht_cagg3 GROUP BY 1 WITH NO DATA"
        )
    assert conn.execute("SELECT count(*) AS n FROM ht_cagg3_1h").fetchone()["n"] == 0
    # WITH DATA (the default) is refused inside a transaction, as on real TimescaleDB
    with pytest.raises(psycopg.errors.ActiveSqlTransaction), conn.transaction():
        conn.execute(
            "CREATE MATERIALIZED VIEW ht_cagg3_1d WITH (timescaledb.continuous) AS "
            "SELECT time_bucket(INTERVAL '1 day', ts) AS bucket, count(*) AS n "
            "FROM ht_cagg3 GROUP BY 1"
        )


# ------------------------------------------------------ server / protocol facts


def test_transactions_savepoints_and_binding(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE kv (k int PRIMARY KEY, v text)")
    with conn.transaction():
        conn.execute("INSERT INTO kv VALUES (%s, %s)", (1, "committed"))
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():  # savepoint
            conn.execute("INSERT INTO kv VALUES (%s, %s)", (2, "rolled back"))
            conn.execute("INSERT INTO kv VALUES (%s, %s)", (1, "duplicate"))
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute("INSERT INTO kv VALUES (%s, %s)", (3, "rolled back"))
        raise RuntimeError
    # server-side binding, auto-prepared after 5 runs (prepare_threshold)
    for i in range(8):
        assert conn.execute("SELECT %s::int * 2 AS x", (i,)).fetchone()["x"] == i * 2
    assert conn.execute("SELECT array_agg(k ORDER BY k) AS ks FROM kv").fetchone()["ks"] == [1]
    assert conn.execute("SELECT count(*) AS n FROM pg_prepared_statements").fetchone()["n"] >= 1
    # executemany (pipeline mode) and a message larger than one TCP read
    conn.cursor().executemany("INSERT INTO kv VALUES (%s, %s)", [(i, "m") for i in range(10, 310)])
    assert conn.execute("SELECT count(*) AS n FROM kv").fetchone()["n"] == 301
    big = "x" * 300_000
    assert conn.execute("SELECT length(%s::text) AS n", (big,)).fetchone()["n"] == 300_000


def test_advisory_locks(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_lock(4242)")
    assert (
        conn.execute(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
        ).fetchone()["n"]
        == 1
    )
    assert conn.execute("SELECT pg_advisory_unlock(4242) AS ok").fetchone()["ok"] is True
    with conn.transaction():
        assert conn.execute("SELECT pg_try_advisory_xact_lock(4243) AS ok").fetchone()["ok"] is True


def test_copy_from_stdin_is_refused_without_crashing(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE copy_target (a int)")
    with (
        pytest.raises(psycopg.errors.FeatureNotSupported),
        conn.cursor().copy("COPY copy_target FROM STDIN") as copy,
    ):
        copy.write_row((1,))
    assert conn.execute("SELECT count(*) AS n FROM copy_target").fetchone()["n"] == 0
    with conn.cursor().copy("COPY (SELECT 1, 'a') TO STDOUT") as copy:
        assert list(copy.rows()) == [("1", "a")]


def test_session_is_reset_between_connections(server: TimescaleServer) -> None:
    # A client that dies inside a transaction, leaving SET values, a temp
    # table, an advisory lock and a prepared statement behind...
    c1 = psycopg.connect(server.url, autocommit=True)
    c1.execute("CREATE TABLE reset_probe (a int)")
    c1.execute("SET application_name = 'leaky'")
    c1.execute("CREATE TEMP TABLE tmp_probe (a int)")
    c1.execute("SELECT pg_advisory_lock(777)")
    c1.execute("PREPARE leaked AS SELECT 1")
    c1.execute("BEGIN")
    c1.execute("INSERT INTO reset_probe VALUES (1)")
    sock = socket.socket(fileno=c1.fileno())
    sock.shutdown(socket.SHUT_RDWR)  # drop the TCP connection without Terminate
    sock.detach()
    c1.close()
    # ...and the next connection starts clean.
    with psycopg.connect(server.url, autocommit=True, connect_timeout=10) as c2:
        assert c2.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        row = c2.execute(
            "SELECT (SELECT count(*) FROM reset_probe) AS rows, "
            "current_setting('application_name') AS app, "
            "to_regclass('pg_temp.tmp_probe') AS tmp, "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') AS locks, "
            "(SELECT count(*) FROM pg_prepared_statements) AS prepared, "
            "current_setting('search_path') AS search_path"
        ).fetchone()
    assert row == (0, "", None, 0, 0, "public")


def test_second_connection_waits_for_the_first(server: TimescaleServer) -> None:
    first = psycopg.connect(server.url, autocommit=True)
    result: dict = {}
    # Measured from before the second client starts: however late its thread runs, it
    # cannot connect before `first` is closed, a second after this.
    start = time.monotonic()

    def second() -> None:
        with psycopg.connect(server.url, autocommit=True, connect_timeout=30) as c:
            result["waited"] = time.monotonic() - start
            result["value"] = c.execute("SELECT 42").fetchone()[0]

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(1.0)  # how long `first` is held
    assert "value" not in result  # still queued behind `first`
    first.execute("SELECT 1")
    first.close()
    thread.join(timeout=30)
    assert result["value"] == 42
    assert result["waited"] >= 0.9
