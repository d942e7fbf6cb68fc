"""One health-sensor tick on a hypertable with many chunks, next to its floor.

    python benchmarks/sensor_tick.py [--chunks 10000] [--runs 3]

Runs against the TimescaleDB test server (tests/timescale_server; needs Node.js):
a hypertable with 1-hour chunks is filled with one row per hour, so it has
`--chunks` chunks, under compression and retention policies. Then it times:

- a `chunk_health_sensor` tick, evaluated as the daemon does (one connection,
  every catalog query of chunk_health and job_health);
- the floor: one `SELECT count(*) FROM timescaledb_information.chunks` over the
  same server, the least any chunk-aware tick must read.

Goal: a tick in at most 1 s at 10,000 chunks, and a constant number of queries
(the tick's query count is printed; it does not grow with chunks).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from platform_assets.dagster.resources import SchemaDatabase  # noqa: E402
from platform_assets.dagster.sensors import build_health_sensors  # noqa: E402
from platform_assets.health import CHUNK_HEALTH, JOB_HEALTH, observe  # noqa: E402
from platform_assets.live.session import Session  # noqa: E402
from platform_assets.parse.compiler import compile_directory  # noqa: E402
from tests.support.timescale import timescale_server  # noqa: E402

SQL = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA bench;
CREATE TABLE bench.samples (ts timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('bench.samples', by_range('ts', INTERVAL '1 hour'));
ALTER TABLE bench.samples SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');
SELECT add_compression_policy('bench.samples', compress_after => INTERVAL '{days} days');
SELECT add_retention_policy('bench.samples', drop_after => INTERVAL '{keep} days');
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    days = args.chunks // 24 + 1

    project = Path(tempfile.mkdtemp(prefix="platform-bench-"))
    (project / "sql").mkdir()
    (project / "sql" / "bench.sql").write_text(SQL.format(days=days * 2, keep=days * 3))
    graph = compile_directory(project / "sql", project)
    sensor = next(s for s in build_health_sensors(graph) if s.name == "chunk_health_sensor")

    with timescale_server() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            for obj in graph:
                for statement in obj.statements:
                    conn.execute(statement.text)
            start = time.perf_counter()
            # A few hundred chunks per statement: each new chunk takes locks.
            for first in range(0, args.chunks, 250):
                conn.execute(
                    "INSERT INTO bench.samples SELECT now() - n * INTERVAL '1 hour', 1, n "
                    "FROM generate_series(%s::int, %s::int) n",
                    (first, min(first + 250, args.chunks) - 1),
                )
            filled = time.perf_counter() - start
            chunks = conn.execute("SELECT count(*) FROM timescaledb_information.chunks").fetchone()[
                0
            ]

        ticks, floors, queries = [], [], []
        for _ in range(args.runs):
            context = dg.build_sensor_context(resources={"database": SchemaDatabase(url=url)})
            start = time.perf_counter()
            result = sensor(context)
            ticks.append(time.perf_counter() - start)
            assert isinstance(result, dg.SensorResult), result
            with psycopg.connect(url, autocommit=True) as conn:
                start = time.perf_counter()
                conn.execute("SELECT count(*) FROM timescaledb_information.chunks").fetchone()
                floors.append(time.perf_counter() - start)
                queries.append(_statements_of_a_tick(conn, graph))

    med = statistics.median
    print(
        f"chunk_health_sensor tick on a hypertable with {chunks:,} chunks "
        f"(TimescaleDB test server; filled in {filled:.1f} s), median of {args.runs}:"
    )
    print(f"  floor: count(*) over timescaledb_information.chunks  {med(floors):6.3f} s")
    print(
        f"  sensor tick (connect + every query)                 {med(ticks):6.3f} s  "
        f"{med(ticks) / med(floors):.1f}x floor; {max(queries)} queries per tick; "
        f"goal <= 1 s: {'met' if med(ticks) <= 1 else 'NOT met'}"
    )


class CountingSession(Session):
    """A session that counts the queries it runs."""

    queries = 0

    def rows(self, *args, **kwargs):
        self.queries += 1
        return super().rows(*args, **kwargs)

    def value(self, *args, **kwargs):
        self.queries += 1
        return super().value(*args, **kwargs)


def _statements_of_a_tick(conn: psycopg.Connection, graph) -> int:
    """How many queries one evaluation of the sensor's checks runs."""
    session = CountingSession(conn)
    observe(session, graph, {CHUNK_HEALTH, JOB_HEALTH}, datetime.now(UTC))
    return session.queries


if __name__ == "__main__":
    main()
