"""TimescaleDB tutorials as their authors wrote them, on real TimescaleDB code.

The tutorial corpus (tests/fixtures/real/tutorial_*.sql): the NYC taxi tutorial
(legacy positional create_hypertable, unnamed indexes, DROP TABLE IF EXISTS,
INSERT rows) and an integer-time IoT schema that declares the extension last.
"""

from __future__ import annotations

import pytest

from platform_assets.model.naming import asset_key_part
from tests.support.project import Project
from tests.support.runs import materializations, materialize
from tests.support.timescale import TimescaleServer
from tests.systems.test_real_schemas import TSDB_TABLES, statements_run, tutorial_project

pytestmark = pytest.mark.timescaledb


def test_tutorials_materialize_natively_and_never_for_the_wrong_engine(
    fresh_server: TimescaleServer, project: Project
):
    graph = tutorial_project(project).graph()
    # A selection without the extension, TimescaleDB available: refused, nothing built.
    refused = materialize(graph, fresh_server.url, ["public/readings"], raise_on_error=False)
    assert not refused.success
    assert fresh_server.value("SELECT to_regclass('public.readings')") is None

    assert materialize(graph, fresh_server.url).success
    dimensions = fresh_server.query(
        "SELECT hypertable_name::text AS t, column_name::text AS c, dimension_type::text AS kind, "
        "num_partitions AS n, integer_interval AS width, integer_now_func::text AS now "
        "FROM timescaledb_information.dimensions ORDER BY 1, dimension_number"
    )
    assert dimensions == [
        {"t": "readings", "c": "ts", "kind": "Time", "n": None, "width": 86400000,
         "now": "unix_now_ms"},
        {"t": "rides", "c": "pickup_datetime", "kind": "Time", "n": None, "width": None,
         "now": None},
        {"t": "rides", "c": "payment_type", "kind": "Space", "n": 2, "width": None, "now": None},
    ]  # fmt: skip
    jobs = fresh_server.query(
        "SELECT hypertable_name::text AS t, config->>'drop_after' AS drop_after "
        "FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'"
    )
    assert jobs == [{"t": "readings", "drop_after": "604800000"}]
    actions = fresh_server.query(
        "SELECT proc_name::text AS proc, schedule_interval::text AS every "
        "FROM timescaledb_information.jobs WHERE proc_name = 'forget_unknown_devices'"
    )
    assert actions == [{"proc": "forget_unknown_devices", "every": "1 day"}]
    indexes = {
        row["indexname"]
        for row in fresh_server.query(
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'rides'"
        )
    }
    assert indexes == {
        "rides_vendor_id_pickup_datetime_idx",
        "rides_rate_code_pickup_datetime_idx",
        "rides_passenger_count_pickup_datetime_idx",
    }  # create_default_indexes => FALSE: only the declared ones
    assert fresh_server.value("SELECT count(*) FROM payment_types") == 6

    second = materialize(graph, fresh_server.url)
    assert statements_run(second) == {}
    in_sync = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert len(in_sync) == len(graph) and all(c.passed for c in in_sync)


def test_a_table_left_natively_partitioned_is_reported_with_its_fix(
    server: TimescaleServer, project: Project
):
    with server.connect() as conn:  # what a run without TimescaleDB made of a hypertable
        conn.execute("CREATE SCHEMA leftover")
        conn.execute(
            "CREATE TABLE leftover.readings (ts timestamptz NOT NULL, v int) "
            "PARTITION BY RANGE (ts)"
        )
    project.write(
        "sql/leftover.sql",
        "CREATE SCHEMA leftover;\n"
        "CREATE TABLE leftover.readings (ts timestamptz NOT NULL, v int);\n"
        "SELECT create_hypertable('leftover.readings', by_range('ts'));\n",
    )
    result = materialize(project.graph(), server.url, raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("schema_objects").error.message
    assert "sql/leftover.sql:3" in failure
    assert "leftover.readings is natively partitioned" in failure
    assert "DROP TABLE leftover.readings CASCADE, materialize again" in failure


def test_create_table_with_tsdb_hypertable_is_a_hypertable_with_its_dimension(
    server: TimescaleServer, project: Project
):
    project.write("sql/plant.sql", TSDB_TABLES)
    graph = project.graph()
    first = materialize(graph, server.url)
    dimensions = server.query(
        "SELECT hypertable_name::text AS t, column_name::text AS c, "
        "time_interval::text AS width, integer_interval AS integer_width "
        "FROM timescaledb_information.dimensions WHERE hypertable_schema = 'Plant Floor' "
        "ORDER BY 1"
    )
    assert dimensions == [
        {"t": "metrics", "c": "time", "width": "1 day", "integer_width": None},
        {"t": "ticks", "c": "ts", "width": None, "integer_width": 86400000},
    ]
    # The CREATE TABLE converts it: the hypertable asset finds it as declared.
    actions = {key: meta["action"] for key, meta in materializations(first).items()}
    assert actions[f"{asset_key_part('Plant Floor')}/metrics/hypertable"] == "unchanged"

    second = materialize(graph, server.url)
    assert statements_run(second) == {}
    in_sync = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert len(in_sync) == len(graph) and all(c.passed for c in in_sync)
