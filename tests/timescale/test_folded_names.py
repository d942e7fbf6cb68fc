"""Mixed-case names in TimescaleDB calls on real TimescaleDB code: a relation named in a
string argument folds as PostgreSQL's regclass input folds it, and a second run changes
nothing."""

from __future__ import annotations

import pytest

from tests.support.project import Project
from tests.support.runs import materializations, materialize
from tests.support.timescale import TimescaleServer

pytestmark = pytest.mark.timescaledb

MIXED_CASE = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA Plant;
CREATE TABLE Plant.Readings (
    Time timestamptz NOT NULL,
    DeviceId int NOT NULL,
    Value double precision
);
CREATE INDEX Readings_Device_Time ON PLANT.READINGS (DeviceId, Time DESC);
SELECT create_hypertable('Plant.Readings', by_range('time', INTERVAL '1 day'));
SELECT add_dimension('PLANT.READINGS', by_hash('deviceid', 2));
ALTER TABLE Plant.Readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'DeviceId');
SELECT add_compression_policy('Plant.READINGS', compress_after => INTERVAL '7 days');
SELECT add_retention_policy('plant.Readings', drop_after => INTERVAL '90 days');
SELECT add_reorder_policy('Plant.Readings', 'readings_device_time');
CREATE MATERIALIZED VIEW Plant.Hourly WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', R.Time) AS Bucket, R.DeviceId, avg(R.Value) AS Mean
FROM Plant.Readings R GROUP BY 1, 2 WITH NO DATA;
SELECT add_continuous_aggregate_policy('Plant.Hourly', start_offset => INTERVAL '3 hours',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
"""


def test_mixed_case_hypertable_and_policies_materialize_then_change_nothing(
    project: Project, server: TimescaleServer
):
    project.write("sql/plant.sql", MIXED_CASE)
    graph = project.graph()
    assert {"/".join(obj.key) for obj in graph} >= {
        "plant/readings/hypertable",
        "plant/readings/compression_settings",
        "plant/readings/compression_policy",
        "plant/readings/retention_policy",
        "plant/readings/reorder_policy",
        "plant/hourly",
        "plant/hourly/refresh_policy",
    }
    assert materialize(graph, server.url).success
    dimensions = server.rows(
        "SELECT hypertable_name::text, column_name::text, dimension_type::text "
        "FROM timescaledb_information.dimensions WHERE hypertable_schema = 'plant' "
        "ORDER BY dimension_number"
    )
    assert dimensions == [("readings", "time", "Time"), ("readings", "deviceid", "Space")]
    jobs = server.rows(
        "SELECT proc_name::text, hypertable_name::text FROM timescaledb_information.jobs "
        "WHERE job_id >= 1000 AND proc_name <> 'policy_refresh_continuous_aggregate' ORDER BY 1"
    )
    assert jobs == [
        ("policy_compression", "readings"),
        ("policy_reorder", "readings"),
        ("policy_retention", "readings"),
    ]
    aggregates = server.rows(
        "SELECT view_name::text FROM timescaledb_information.continuous_aggregates "
        "WHERE view_schema = 'plant'"
    )
    assert aggregates == [("hourly",)]
    assert (
        server.value(
            "SELECT segmentby FROM timescaledb_information.hypertable_compression_settings "
            "WHERE hypertable = 'plant.readings'::regclass"
        )
        == "deviceid"
    )

    second = materialize(graph, server.url)
    assert second.success
    executed = {
        key: meta["statements_executed"]
        for key, meta in materializations(second).items()
        if meta.get("statements_executed")
    }
    assert executed == {}
    checks = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert len(checks) == len(graph)
    assert [c.asset_key.to_user_string() for c in checks if not c.passed] == []
