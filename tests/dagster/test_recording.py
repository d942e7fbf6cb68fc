"""Events in proportion to change: a run that finds objects as declared records nothing for
them, and the UI (Dagster's own check summaries) still tells the truth about each one."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from platform_assets.health import CHUNK_HEALTH
from tests.health.test_health import PARTITIONED
from tests.support.runs import in_sync, materializations, materialize, verify

SCHEMA = """CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer bigint REFERENCES shop.customers (id));
CREATE INDEX idx_orders_customer ON shop.orders (customer);
"""
SEED = "id,name\n1,Ada\n2,Grace\n"
ORDERS = dg.AssetCheckKey(dg.AssetKey(["shop", "orders"]), "in_sync")
EVENTS_HEALTH = dg.AssetCheckKey(dg.AssetKey(["logs", "events"]), CHUNK_HEALTH)


def check_evaluations(result: dg.ExecuteInProcessResult) -> set[tuple[str, str]]:
    return {
        ("/".join(e.asset_key.path), e.check_name) for e in result.get_asset_check_evaluations()
    }


def last_completed(instance: dg.DagsterInstance, key: dg.AssetCheckKey):
    """What the UI's asset health reads for a check: its last completed evaluation."""
    summary = instance.event_log_storage.get_asset_check_summary_records([key])[key]
    return summary.last_completed_check_execution_record


def test_a_no_op_run_records_nothing_and_a_change_records_only_the_changed(project, database):
    path = project.write("sql/shop.sql", SCHEMA)
    project.write("seeds/shop/customers.csv", SEED)
    instance = dg.DagsterInstance.ephemeral()
    first = materialize(project.graph(), database.url, instance=instance)
    assert len(materializations(first)) == 5  # 4 objects and the seed
    assert all(e.passed for e in first.get_asset_check_evaluations())

    again = materialize(project.graph(), database.url, instance=instance)
    assert again.success
    assert materializations(again) == {}
    assert check_evaluations(again) == set()

    path.write_text(SCHEMA.replace("customers (id));", "customers (id), note text);"))
    changed = materialize(project.graph(), database.url, instance=instance)
    assert set(materializations(changed)) == {"shop/orders"}
    assert materializations(changed)["shop/orders"]["action"] == "updated"
    # The index on it is checked again too: its last check followed from the table's
    # declaration (execute/fingerprints.py).
    assert check_evaluations(changed) == {
        ("shop/orders", "in_sync"),
        ("shop/orders/idx_orders_customer", "in_sync"),
    }
    assert in_sync(changed, "shop/orders").passed

    # Only the seed's file changed: only the seed records a materialization and its checks.
    project.write("seeds/shop/customers.csv", SEED + "3,Edsger\n")
    seeded = materialize(project.graph(), database.url, instance=instance)
    assert set(materializations(seeded)) == {"shop/seed/customers"}
    assert {asset for asset, _ in check_evaluations(seeded)} == {"shop/seed/customers"}


def test_a_drifted_object_still_shows_its_failed_check_after_a_no_op_run(project, database):
    project.write("sql/shop.sql", SCHEMA)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    materialize(graph, database.url, instance=instance)
    with database.connect() as conn:
        conn.execute("ALTER TABLE shop.orders ADD COLUMN by_hand text")
    assert not verify(graph, database.url, instance=instance)["shop/orders"].passed

    # The rest of the schema, as declared: nothing recorded, the failure stands.
    rest = ["shop/schema", "shop/customers"]
    quiet = materialize(graph, database.url, selection=rest, instance=instance)
    assert materializations(quiet) == {}
    assert check_evaluations(quiet) == set()
    record = last_completed(instance, ORDERS)
    assert record.status == AssetCheckExecutionRecordStatus.FAILED

    # Everything: the drifted table fails again (its column would be dropped), with its
    # in_sync failed; every other object records nothing.
    everything = materialize(graph, database.url, instance=instance, raise_on_error=False)
    assert not everything.success
    assert check_evaluations(everything) == {("shop/orders", "in_sync")}
    assert "by_hand" in in_sync(everything, "shop/orders").description
    assert last_completed(instance, ORDERS).status == AssetCheckExecutionRecordStatus.FAILED
    # The objects skipped show their last evaluation, a pass, behind the skipped one.
    customers = dg.AssetCheckKey(dg.AssetKey(["shop", "customers"]), "in_sync")
    assert last_completed(instance, customers).status == AssetCheckExecutionRecordStatus.SUCCEEDED

    # Fixed by hand: the next run finds the table as declared and records the pass, since
    # its last recorded result was a failure.
    with database.connect() as conn:
        conn.execute("ALTER TABLE shop.orders DROP COLUMN by_hand")
    fixed = materialize(graph, database.url, instance=instance)
    assert materializations(fixed) == {}
    assert check_evaluations(fixed) == {("shop/orders", "in_sync")}
    assert last_completed(instance, ORDERS).status == AssetCheckExecutionRecordStatus.SUCCEEDED


def test_verification_records_every_check_whatever_changed(project, database):
    project.write("sql/shop.sql", SCHEMA)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    materialize(graph, database.url, instance=instance)
    materialize(graph, database.url, instance=instance)
    evaluations = verify(graph, database.url, instance=instance)
    assert set(evaluations) == {"/".join(obj.key) for obj in graph}
    assert all(e.passed for e in evaluations.values())


def test_a_health_check_is_recorded_when_it_changes_and_by_verification(project, database):
    project.write("sql/logs.sql", PARTITIONED)
    graph = project.graph()
    instance = dg.DagsterInstance.ephemeral()
    first = materialize(graph, database.url, instance=instance)
    assert ("logs/events", CHUNK_HEALTH) in check_evaluations(first)

    # Healthy and last seen so: the next run records nothing, the pass stands.
    again = materialize(graph, database.url, instance=instance)
    assert check_evaluations(again) == set()
    assert (
        last_completed(instance, EVENTS_HEALTH).status == AssetCheckExecutionRecordStatus.SUCCEEDED
    )

    # A row in a default partition: the next run records the failure.
    with database.connect() as conn:
        conn.execute("CREATE TABLE logs.events_default PARTITION OF logs.events DEFAULT")
        conn.execute("INSERT INTO logs.events VALUES (1, now() + interval '30 days', 'lost')")
    unhealthy = materialize(graph, database.url, instance=instance, raise_on_error=False)
    assert ("logs/events", CHUNK_HEALTH) in check_evaluations(unhealthy)
    assert last_completed(instance, EVENTS_HEALTH).status == AssetCheckExecutionRecordStatus.FAILED

    # Moved back by hand: the pass is recorded (the last result was a failure) ...
    with database.connect() as conn:
        conn.execute("DELETE FROM logs.events_default")
        conn.execute("DROP TABLE logs.events_default")
    fixed = materialize(graph, database.url, instance=instance)
    assert ("logs/events", CHUNK_HEALTH) in check_evaluations(fixed)
    assert (
        last_completed(instance, EVENTS_HEALTH).status == AssetCheckExecutionRecordStatus.SUCCEEDED
    )
    # ... and verification records it whatever changed.
    verify(graph, database.url, instance=instance)
    assert last_completed(instance, EVENTS_HEALTH).run_id != fixed.run_id
