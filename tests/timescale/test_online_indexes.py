"""An index added to a hypertable that holds chunks is planned one chunk per transaction."""

from __future__ import annotations

import pytest

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
