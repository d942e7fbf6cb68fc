"""An index added to a hypertable that holds chunks is planned one chunk per transaction;
a unique one, which has no online form there, is one build and a lint warning."""

from __future__ import annotations

import pytest

from platform_assets.lint.rules import LiveFacts, lint_graph
from platform_assets.live.session import Session
from tests.support.cli import plan, statements
from tests.support.runs import materialize
from tests.timescale.test_evolution import fill, readings

pytestmark = pytest.mark.timescaledb


def test_index_on_a_hypertable_with_chunks_is_planned_per_chunk(project, server):
    project.write("sql/ts.sql", readings("perchunk", "    value int"))
    materialize(project.graph(), server.url)
    fill(server, "perchunk", "d * 10")
    chunks, _ = server.chunks("perchunk")
    assert chunks > 1
    index = "CREATE INDEX idx_readings_value ON perchunk.readings (value);\n"
    project.write("sql/ts.sql", readings("perchunk", "    value int") + index)

    pending = plan(project, server)
    assert statements(pending) == [
        '[SHARE] [INDEX BUILD] [AFTER COMMIT] CREATE INDEX "idx_readings_value" '
        "ON perchunk.readings(value) WITH (timescaledb.transaction_per_chunk=TRUE);"
    ], pending.stdout

    # Not materialized here: on the WebAssembly test build the per-chunk build indexes
    # every chunk, then fails marking the hypertable's index valid ("tuple concurrently
    # updated") and leaves the server unable to drop it (a real server completes it).


def test_unique_index_on_a_populated_hypertable_is_one_build_and_linted(project, server):
    project.write("sql/ts.sql", readings("uniq", "    value int"))
    materialize(project.graph(), server.url)
    fill(server, "uniq", "d * 10")
    index = "CREATE UNIQUE INDEX ux_readings ON uniq.readings (device, ts);\n"
    project.write("sql/ts.sql", readings("uniq", "    value int") + index)

    assert statements(plan(project, server)) == [
        '[SHARE] [INDEX BUILD] CREATE UNIQUE INDEX "ux_readings" ON uniq.readings(device, ts);'
    ]
    with server.connect() as conn:
        live = LiveFacts.read(Session(conn))
    found = [f for f in lint_graph(project.graph(), live) if f.rule.id == "PG007"]
    assert [f.object_name for f in found] == ["index ux_readings on uniq.readings"]
    assert "writes wait for all of it" in found[0].message
