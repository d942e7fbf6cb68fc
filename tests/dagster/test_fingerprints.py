"""An object as its last passing check found it is not compared again; anything that
would change the comparison's result (a change by hand, the SQL, the time) makes it
compared as usual."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import psycopg

from platform_assets.dagster.recording import LIVE_STATE
from platform_assets.execute.fingerprints import Fingerprint
from platform_assets.execute.runner import Runner
from platform_assets.live.session import Session
from tests.health.test_health import PARTITIONED, today
from tests.support.runs import in_sync, materializations, materialize, verify

SCHEMA = """CREATE SCHEMA shop;
CREATE TABLE shop.customers (
    id bigint PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    tier text DEFAULT 'basic'
);
COMMENT ON TABLE shop.customers IS 'who buys';
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer bigint REFERENCES shop.customers (id));
CREATE INDEX idx_orders_customer ON shop.orders (customer) WHERE customer IS NOT NULL;
CREATE FUNCTION shop.total(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1 * 2';
"""
# Integer time on plain PostgreSQL: range partitions around the declared "now" function.
INTEGER_TIME = """CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA plant;
CREATE TABLE plant.readings (ts bigint NOT NULL, device int);
CREATE FUNCTION plant.now_ms() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;
SELECT create_hypertable('plant.readings', 'ts', chunk_time_interval => 86400000);
SELECT set_integer_now_func('plant.readings', 'plant.now_ms');
"""
OBJECTS = {
    "shop/schema",
    "shop/customers",
    "shop/orders",
    "shop/orders/idx_orders_customer",
    "shop/function/total",
}


def found_in_place(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> set[str]:
    """The objects the run took as their last check found them (from its log)."""
    marker = "as their last check found them (not compared again), nothing recorded: "
    for entry in instance.all_logs(result.run_id):
        if marker in entry.user_message:
            return set(entry.user_message.split(marker, 1)[1].split(", "))
    return set()


def test_a_rerun_takes_every_object_its_last_check_saw_as_in_place(project, database):
    project.write("sql/shop.sql", SCHEMA)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    first = materialize(graph, database.url, instance=instance)
    assert all(LIVE_STATE in e.metadata for e in first.get_asset_check_evaluations())

    again = materialize(graph, database.url, instance=instance)
    assert found_in_place(instance, again) == OBJECTS
    assert materializations(again) == {}
    assert again.get_asset_check_evaluations() == []

    # A verification run records every check again, with its fingerprint: still in place.
    assert all(LIVE_STATE in e.metadata for e in verify(graph, database.url, instance).values())
    assert found_in_place(instance, materialize(graph, database.url, instance=instance)) == OBJECTS


def test_a_change_by_hand_makes_the_object_compared_again(project, database):
    project.write("sql/shop.sql", SCHEMA)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    materialize(graph, database.url, instance=instance)
    materialize(graph, database.url, instance=instance)
    with database.connect() as conn:
        conn.execute("DROP INDEX shop.idx_orders_customer")
        conn.execute("ALTER TABLE shop.customers ALTER COLUMN tier SET DEFAULT 'gold'")
        conn.execute("COMMENT ON TABLE shop.customers IS 'by hand'")
        conn.execute("CREATE OR REPLACE FUNCTION shop.total(bigint) RETURNS bigint "
                     "LANGUAGE sql AS 'SELECT $1 * 3'")  # fmt: skip

    rerun = materialize(graph, database.url, instance=instance)
    assert found_in_place(instance, rerun) == {"shop/schema", "shop/orders"}
    changed = materializations(rerun)
    assert changed["shop/orders/idx_orders_customer"]["action"] == "created"
    assert set(changed) == {
        "shop/orders/idx_orders_customer",
        "shop/customers",
        "shop/function/total",
    }
    assert all(e.passed for e in rerun.get_asset_check_evaluations())
    with database.connect() as conn:
        default, comment = conn.execute(
            "SELECT pg_get_expr(d.adbin, d.adrelid), obj_description('shop.customers'::regclass)"
            " FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid"
            " AND a.attnum = d.adnum WHERE a.attrelid = 'shop.customers'::regclass"
            " AND a.attname = 'tier'"
        ).fetchone()
    assert (default, comment) == ("'basic'::text", "who buys")

    # A column added by hand: the table is compared, its check fails (nothing is dropped).
    with database.connect() as conn:
        conn.execute("ALTER TABLE shop.orders ADD COLUMN by_hand text")
    drifted = materialize(graph, database.url, instance=instance, raise_on_error=False)
    assert "shop/orders" not in found_in_place(instance, drifted)
    assert not in_sync(drifted, "shop/orders").passed


def test_an_edited_declaration_or_neighbour_is_compared_again(project, database):
    path = project.write("sql/shop.sql", SCHEMA)
    instance = dg.DagsterInstance.ephemeral()
    materialize(project.graph(), database.url, instance=instance)
    materialize(project.graph(), database.url, instance=instance)

    # Only the index's SQL changes: the index and the table it belongs to (whose
    # comparison reads its indexes' declarations) are compared; the others are not.
    path.write_text(SCHEMA.replace("WHERE customer IS NOT NULL", "WHERE customer > 0"))
    edited = materialize(project.graph(), database.url, instance=instance)
    assert found_in_place(instance, edited) == OBJECTS - {
        "shop/orders",
        "shop/orders/idx_orders_customer",
    }
    # The table's check is recorded again: its last result was worked out against the
    # index's old declaration. The next run takes both as in place again.
    assert {e.asset_key.to_user_string() for e in edited.get_asset_check_evaluations()} == {
        "shop/orders",
        "shop/orders/idx_orders_customer",
    }
    assert (
        found_in_place(instance, materialize(project.graph(), database.url, instance=instance))
        == OBJECTS
    )
    assert materializations(edited)["shop/orders/idx_orders_customer"]["action"] == "updated"


def test_a_partitioned_table_is_in_place_until_its_period_ends(project, database):
    project.write("sql/logs.sql", PARTITIONED)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    first = materialize(graph, database.url, instance=instance)
    # Upkeep at any instant of today makes the same plan, until tomorrow (UTC) wants
    # another partition; retention's cutoff passes no bound before then.
    stored = in_sync(first, "logs/events").metadata[LIVE_STATE].value
    tomorrow = today() + timedelta(days=1)
    assert datetime.fromisoformat(stored["until"]) == tomorrow
    again = materialize(graph, database.url, instance=instance)
    assert {"logs/events", "logs/events/idx_events_at"} <= found_in_place(instance, again)

    fingerprint = Fingerprint.from_json(stored)
    table = graph[("logs", "events")]
    with psycopg.connect(database.url, autocommit=True) as conn:
        runner = Runner(Session(conn), graph)
        runner.engine.clock = lambda: tomorrow - timedelta(seconds=1)
        (result,) = runner.run({table.key}, fingerprints={table.key: fingerprint})
        assert result.in_place
        # Once the period is over, the table is compared again: a partition is due.
        runner.engine.clock = lambda: tomorrow
        (result,) = runner.run({table.key}, fingerprints={table.key: fingerprint})
        assert not result.in_place
        assert result.outcome is not None and result.outcome.details["partitions_created"]


def test_a_fingerprint_no_longer_held_is_renewed_by_the_next_check(project, database):
    # A partition added by hand (as a seed's rows outside the premade range add one)
    # leaves the table as declared but changes what its check read.
    project.write("sql/logs.sql", PARTITIONED)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    materialize(graph, database.url, instance=instance)
    with database.connect() as conn:
        conn.execute(
            "CREATE TABLE logs.events_p20990101 PARTITION OF logs.events "
            "FOR VALUES FROM ('2099-01-01') TO ('2099-01-02')"
        )
    rerun = materialize(graph, database.url, instance=instance)
    assert "logs/events" not in found_in_place(instance, rerun)
    assert materializations(rerun) == {}
    assert in_sync(rerun, "logs/events").passed  # recorded again, with a new fingerprint
    assert "logs/events" in found_in_place(
        instance, materialize(graph, database.url, instance=instance)
    )


def test_what_depends_on_the_time_unboundedly_is_never_taken_as_in_place(project, database):
    # Integer time: "now" is the declared function's answer, which no catalog entry holds.
    project.write("sql/readings.sql", INTEGER_TIME)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    materialize(graph, database.url, instance=instance)
    again = materialize(graph, database.url, instance=instance)
    assert "plant/readings/hypertable" not in found_in_place(instance, again)
    assert "plant/readings" in found_in_place(instance, again)
