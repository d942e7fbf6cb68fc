"""`platform plan` on a hypertable names each statement's lock and hazards (LOCKS.md,
TimescaleDB), on the TimescaleDB test server; each change is then applied and converges.

Each case declares a hypertable whose chunks hold rows, changes the declaration and
reads the plan. Index builds on hypertables are covered in test_online_indexes.py (the
per-chunk build is planned only: on this WebAssembly build it fails "tuple
concurrently updated").
"""

from __future__ import annotations

import pytest

from tests.support.cli import plan, statements
from tests.support.runs import allow, materialize

pytestmark = pytest.mark.timescaledb

BASE = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA hl;
CREATE TABLE hl.m (ts timestamptz NOT NULL, device int NOT NULL, v int);
SELECT create_hypertable('hl.m', by_range('ts', INTERVAL '1 day'));
"""
COLUMNSTORE = (
    "ALTER TABLE hl.m SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');\n"
)
RETENTION = "SELECT add_retention_policy('hl.m', drop_after => INTERVAL '{days} days');\n"
AGGREGATE = """\
CREATE MATERIALIZED VIEW hl.hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, {measure} AS n
    FROM hl.m GROUP BY 1, 2 WITH NO DATA;
"""
REFRESH_CALL = "[AFTER COMMIT] CALL refresh_continuous_aggregate('hl.hourly__rebuild', NULL, NULL);"

CASES = {
    "add a nullable column (every chunk, in one transaction)": (
        BASE,
        BASE.replace("v int", "v int, note text"),
        ['[ACCESS EXCLUSIVE] ALTER TABLE "hl"."m" ADD COLUMN note TEXT;'],
    ),
    "change the chunk interval (a catalog row; new chunks only)": (
        BASE,
        BASE.replace("INTERVAL '1 day'", "INTERVAL '2 days'"),
        ["SELECT set_chunk_time_interval('\"hl\".\"m\"', '2 DAYS'::interval);"],
    ),
    "add a check (validated after the commit)": (
        BASE,
        BASE.replace("v int", "v int CONSTRAINT m_v_sane CHECK (v >= 0)"),
        [
            '[ACCESS EXCLUSIVE] ALTER TABLE "hl"."m" ADD CONSTRAINT "m_v_sane" CHECK (v >= 0) '
            "NOT VALID;",
            '[SHARE UPDATE EXCLUSIVE] [FULL SCAN] [AFTER COMMIT] ALTER TABLE "hl"."m" '
            'VALIDATE CONSTRAINT "m_v_sane";',
        ],
    ),
    "add a check with columnstore on (validated in one statement)": (
        BASE + COLUMNSTORE,
        BASE.replace("v int", "v int CONSTRAINT m_v_sane CHECK (v >= 0)") + COLUMNSTORE,
        [
            '[ACCESS EXCLUSIVE] [FULL SCAN] ALTER TABLE "hl"."m" ADD CONSTRAINT "m_v_sane" '
            "CHECK (v >= 0);"
        ],
    ),
    "enable columnstore (compression)": (
        BASE,
        BASE + COLUMNSTORE,
        [
            "[ACCESS EXCLUSIVE] ALTER TABLE hl.m SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'device');"
        ],
    ),
    "add a retention policy (a job: no lock)": (
        BASE,
        BASE + RETENTION.format(days=90),
        ["SELECT add_retention_policy('hl.m', drop_after => INTERVAL '90 days');"],
    ),
    "lengthen a retention policy (alter_job keeps the job)": (
        BASE + RETENTION.format(days=90),
        BASE + RETENTION.format(days=120),
        ["SELECT job_id FROM alter_job({job}, config => '{config}'::jsonb);"],
    ),
}


def _materialize_filled(project, server, before: str) -> None:
    project.write("sql/hl.sql", before)
    materialize(project.graph(), server.url)
    server.query(
        "INSERT INTO hl.m SELECT t, d, d FROM generate_series(now() - INTERVAL '3 days', "
        "now(), INTERVAL '6 hours') t, generate_series(1, 2) d"
    )
    assert server.value("SELECT count(*) FROM show_chunks('hl.m')") > 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_names_each_hypertable_statement_s_lock_and_hazards(project, server, case):
    before, after, expected = CASES[case]
    _materialize_filled(project, server, before)
    job = server.value(
        "SELECT job_id FROM timescaledb_information.jobs WHERE hypertable_name = 'm'"
    )
    config = server.value(
        "SELECT config::text FROM timescaledb_information.jobs WHERE hypertable_name = 'm'"
    )
    project.write("sql/hl.sql", after)
    pending = plan(project, server)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    wanted = [
        line.format(job=job, config=config.replace("90 days", "120 days") if config else "")
        for line in expected
    ]
    assert statements(pending) == wanted, pending.stdout

    materialize(project.graph(), server.url)
    clean = plan(project, server)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_volatile_default_added_to_a_hypertable_with_rows_is_refused_as_a_rewrite(project, server):
    _materialize_filled(project, server, BASE)
    project.write(
        "sql/hl.sql", BASE.replace("v int", "v int, token uuid DEFAULT gen_random_uuid()")
    )
    pending = plan(project, server)
    assert pending.returncode == 1, pending.stdout + pending.stderr
    assert "refused table rewrite(s): hl.m holds rows" in pending.stdout
    # The table's step: its error, then the refused statement (its hypertable is blocked).
    assert statements(pending)[1] == (
        '[REFUSED] [ACCESS EXCLUSIVE] [TABLE REWRITE] ALTER TABLE "hl"."m" ADD COLUMN token UUID '
        "DEFAULT GEN_RANDOM_UUID();"
    ), pending.stdout
    allowed = plan(project, server, "--allow-destructive", "hl/m")
    assert allowed.returncode == 2, allowed.stdout
    materialize(project.graph(), server.url, run_config=allow("hl/m"))
    assert server.value("SELECT count(DISTINCT token) FROM hl.m") == server.value(
        "SELECT count(*) FROM hl.m"
    )


def test_add_dimension_on_an_empty_hypertable_takes_share_update_exclusive(project, server):
    project.write("sql/hl.sql", BASE)
    materialize(project.graph(), server.url)
    dimension = "SELECT add_dimension('hl.m', by_hash('device', 4));\n"
    project.write("sql/hl.sql", BASE + dimension)
    pending = plan(project, server)
    assert statements(pending) == [
        "[SHARE UPDATE EXCLUSIVE] SELECT add_dimension('hl.m', by_hash('device', 4));"
    ], pending.stdout
    materialize(project.graph(), server.url)
    assert plan(project, server).returncode == 0


def test_changed_aggregate_is_rebuilt_beside_the_old_one_and_refreshed_after_commit(
    project, server
):
    _materialize_filled(project, server, BASE + AGGREGATE.format(measure="count(*)"))
    project.write("sql/hl.sql", BASE + AGGREGATE.format(measure="sum(v)"))
    pending = plan(project, server)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    # Built WITH NO DATA under another name (locking nothing others use), refreshed outside
    # a transaction, then swapped in: ACCESS EXCLUSIVE on the old aggregate for the swap only.
    assert statements(pending) == [
        'DROP MATERIALIZED VIEW IF EXISTS "hl"."hourly__rebuild";',
        "CREATE MATERIALIZED VIEW hl.hourly__rebuild WITH (timescaledb.continuous=TRUE) AS "
        "SELECT TIME_BUCKET(INTERVAL '1 HOUR', ts) AS bucket, device, SUM(v) AS n FROM hl.m "
        "GROUP BY 1, 2 WITH NO DATA;",
        '[AFTER COMMIT] CALL refresh_continuous_aggregate(\'"hl"."hourly__rebuild"\', NULL, NULL);',
        '[ACCESS EXCLUSIVE] [AFTER COMMIT] DROP MATERIALIZED VIEW "hl"."hourly";',
        '[ACCESS EXCLUSIVE] [AFTER COMMIT] ALTER MATERIALIZED VIEW "hl"."hourly__rebuild" '
        'RENAME TO "hourly";',
    ], pending.stdout
    materialize(project.graph(), server.url)
    assert plan(project, server).returncode == 0
