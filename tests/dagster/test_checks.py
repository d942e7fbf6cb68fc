"""The `in_sync` asset check: passes on a fresh materialization, fails with the differences
when the live database is changed by hand, and passes again after the fix."""

from __future__ import annotations

from tests.support.runs import materialize, verify
from tests.support.schemas import EVERY_KIND


def test_checks_pass_after_materialize_and_run_alongside_it(project, database):
    project.write("sql/demo.sql", EVERY_KIND)
    graph = project.graph()
    result = materialize(graph, database.url)
    evaluations = result.get_asset_check_evaluations()
    assert len([e for e in evaluations if e.check_name == "in_sync"]) == len(graph)
    assert {
        (e.asset_key.path[-1], e.check_name) for e in evaluations if e.check_name != "in_sync"
    } == {("hypertable", "chunk_health")}
    assert all(e.passed for e in evaluations), [
        (e.asset_key, e.description) for e in evaluations if not e.passed
    ]
    assert all(e.passed for e in verify(graph, database.url).values())


def test_hand_made_changes_fail_the_check_with_details_until_fixed(project, database):
    project.write("sql/demo.sql", EVERY_KIND)
    graph = project.graph()
    materialize(graph, database.url)
    with database.connect() as conn:
        conn.execute("ALTER TABLE demo.users ALTER COLUMN ticket DROP NOT NULL")
        conn.execute("ALTER TABLE demo.events ADD COLUMN note text")
        conn.execute("DROP INDEX demo.idx_events_user_time")

    evaluations = verify(graph, database.url)
    users = evaluations["demo/users"]
    assert not users.passed
    assert "column ticket: declared bigint NOT NULL DEFAULT" in users.description
    assert "live bigint NULL" in users.description
    events = evaluations["demo/events"]
    assert not events.passed
    assert "column note exists but is not declared" in events.description
    index = evaluations["demo/events/idx_events_user_time"]
    assert not index.passed
    assert "CREATE INDEX idx_events_user_time" in index.metadata["pending_sql"].value
    assert evaluations["demo/schema"].passed
    # Nothing was changed by checking.
    assert database.value("SELECT to_regclass('demo.idx_events_user_time')") is None

    materialize(graph, database.url, selection=["demo/events/idx_events_user_time"])
    assert verify(graph, database.url)["demo/events/idx_events_user_time"].passed
