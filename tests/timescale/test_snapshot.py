"""TimescaleDB's own catalog is part of the run's snapshot: finding hypertables, their
columnstore settings, policies, jobs and continuous aggregates as declared reads the
catalog in as many queries whatever their number, and a run that changes them sees each
change."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from platform_assets.execute.plan import make_plan
from platform_assets.live.session import CountingCursor, Session
from platform_assets.model.graph import SchemaGraph
from tests.support.databases import query
from tests.support.runs import materializations, materialize
from tests.support.statements import reads_catalog

pytestmark = pytest.mark.timescaledb


def timescale_schema(hypertables: int, chunk: str = "1 day") -> str:
    """`hypertables` hypertables, each with columnstore settings, a compression and a
    retention policy, and a continuous aggregate with its refresh policy; and one
    user-defined action."""
    parts = [
        "CREATE EXTENSION IF NOT EXISTS timescaledb;",
        "CREATE SCHEMA snap;",
        "CREATE PROCEDURE snap.tidy(job_id int, config jsonb) LANGUAGE plpgsql AS "
        "$$ BEGIN NULL; END $$;",
        "SELECT add_job('snap.tidy', '1 day');",
    ]
    for i in range(hypertables):
        parts += [
            f"CREATE TABLE snap.r{i} (ts timestamptz NOT NULL, device int NOT NULL, v float8);",
            f"SELECT create_hypertable('snap.r{i}', by_range('ts', INTERVAL '{chunk}'));",
            f"ALTER TABLE snap.r{i} SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 'ts DESC');",
            f"SELECT add_compression_policy('snap.r{i}', INTERVAL '7 days');",
            f"SELECT add_retention_policy('snap.r{i}', INTERVAL '90 days');",
            f"CREATE MATERIALIZED VIEW snap.h{i} WITH (timescaledb.continuous) AS "
            f"SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device, count(*) AS n "
            f"FROM snap.r{i} GROUP BY 1, 2 WITH NO DATA;",
            f"SELECT add_continuous_aggregate_policy('snap.h{i}', start_offset => "
            "INTERVAL '3 days', end_offset => INTERVAL '1 hour', "
            "schedule_interval => INTERVAL '1 hour');",
        ]
    return "\n".join(parts) + "\n"


def drop_schema(server_url: str) -> None:
    """The schema and the user-defined action's job (which dropping it leaves)."""
    query(
        server_url,
        "SELECT delete_job(job_id) FROM timescaledb_information.jobs WHERE proc_schema = 'snap'",
    )
    query(server_url, "DROP SCHEMA snap CASCADE")


class RecordingCursor(CountingCursor):
    """Keeps the text of every statement sent, to tell catalog reads apart."""

    def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
        text = query if isinstance(query, str) else query.as_string(self.connection)
        self.connection.sent.append(text)  # ty: ignore[unresolved-attribute]
        return super().execute(query, params, **kwargs)


def catalog_reads_of_a_plan(server_url: str, graph: SchemaGraph) -> list[str]:
    """The catalog queries `platform plan` sends for `graph`, which must find nothing to do."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        session = Session(conn)
        conn.sent = []  # ty: ignore[unresolved-attribute]
        conn.cursor_factory = RecordingCursor
        plan = make_plan(graph, session)
        assert plan.engine == "timescaledb"
        assert not plan.pending, plan.render()
        return [text for text in conn.sent if reads_catalog(text)]  # ty: ignore[unresolved-attribute]


def test_finding_timescaledb_objects_as_declared_reads_a_fixed_number_of_catalog_queries(
    project, server_url
):
    counts = []
    for hypertables in (1, 3):
        project.write("sql/snap.sql", timescale_schema(hypertables))
        graph = project.graph()
        assert materialize(graph, server_url).success
        counts.append(catalog_reads_of_a_plan(server_url, graph))
        drop_schema(server_url)
    one, three = counts
    # One query per catalog, whatever the number of hypertables, policies and aggregates.
    assert len(one) == len(three), (one, three)


def test_a_run_that_changes_timescaledb_objects_sees_each_change(project, server_url):
    instance = dg.DagsterInstance.ephemeral()
    project.write("sql/snap.sql", timescale_schema(1, chunk="1 day"))
    assert materialize(project.graph(), server_url, instance=instance).success
    # The changed interval is read back after its statement; the rerun changes nothing.
    project.write("sql/snap.sql", timescale_schema(1, chunk="2 days"))
    changed = materializations(materialize(project.graph(), server_url, instance=instance))
    assert changed["snap/r0/hypertable"]["chunk_interval"] == "2 days"
    again = materializations(materialize(project.graph(), server_url, instance=instance))
    assert again == {}, again
    drop_schema(server_url)
