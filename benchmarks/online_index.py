"""An index built on a table in use: plain CREATE INDEX against the platform's online build.

    python benchmarks/online_index.py --rows 1000000

On a throwaway embedded cluster, a table of `--rows` rows gets one index while a
writer inserts rows continuously from its own connection, each insert timed. The
floor is a plain `CREATE INDEX` of the same index run directly (what an index build
costs, writes blocked for all of it); then the index is dropped and the platform
materializes the same declaration, which builds it CONCURRENTLY. Printed for each:
the build's wall time, the writer's longest stall and how many rows it inserted
while the build ran.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from platform_assets.dagster.assets import build_schema_assets  # noqa: E402
from platform_assets.dagster.resources import SchemaDatabase  # noqa: E402
from platform_assets.live.embedded import EmbeddedCluster  # noqa: E402
from platform_assets.parse.compiler import compile_directory  # noqa: E402

TABLE = "CREATE SCHEMA bench;\nCREATE TABLE bench.events (id bigint PRIMARY KEY, v int);\n"
INDEX = "CREATE INDEX idx_events_v ON bench.events (v);\n"


class Writer:
    """Inserts one row at a time until stopped; records when each insert ended and took."""

    def __init__(self, url: str, first_id: int):
        self.url = url
        self.next_id = first_id
        self.inserts: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.writing = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.perf_counter()
                conn.execute("INSERT INTO bench.events VALUES (%s, 7)", (self.next_id,))
                ended = time.perf_counter()
                self.inserts.append((ended, ended - started))
                self.writing.set()
                self.next_id += 1

    def during(self, build: Callable[[], None]) -> tuple[float, float, int]:
        """Run `build` while writing: (its wall time, longest insert, inserts during it)."""
        self.inserts.clear()
        self.stop.clear()
        self.writing.clear()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        self.writing.wait()  # the writer is writing before the build starts
        start = time.perf_counter()
        build()
        took = time.perf_counter() - start
        end = time.perf_counter()
        self.stop.set()
        self.thread.join()
        inside = [d for at, d in self.inserts if start <= at <= end]
        return took, max(d for _, d in self.inserts), len(inside)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="platform-bench-"))
    work.chmod(0o755)
    project = work / "project"
    (project / "sql").mkdir(parents=True)
    cluster = EmbeddedCluster(work / "cluster")
    cluster.up(databases=("bench",))
    try:
        url = cluster.url("bench")
        resources = {"database": SchemaDatabase(url=url)}
        (project / "sql" / "bench.sql").write_text(TABLE)
        dg.materialize(
            [build_schema_assets(compile_directory(project / "sql", project))], resources=resources
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO bench.events SELECT n, n %% 1000 FROM generate_series(1, %s) n",
                (args.rows,),
            )
            conn.execute("VACUUM ANALYZE bench.events")
        writer = Writer(url, args.rows + 1)

        def plain() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(INDEX)

        plain_took, plain_stall, plain_inside = writer.during(plain)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP INDEX bench.idx_events_v")

        (project / "sql" / "bench.sql").write_text(TABLE + INDEX)
        graph = compile_directory(project / "sql", project)

        def online() -> None:
            result = dg.materialize([build_schema_assets(graph)], resources=resources)
            assert result.success

        online_took, online_stall, online_inside = writer.during(online)
        with psycopg.connect(url, autocommit=True) as conn:
            valid = conn.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'bench.idx_events_v'::regclass"
            ).fetchone()[0]
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"index build on {args.rows:,} rows while a writer inserts continuously, plain PostgreSQL:"
    )
    print(
        f"  floor: plain CREATE INDEX        {plain_took:6.2f} s  longest insert stall "
        f"{plain_stall:6.2f} s  rows inserted during the build: {plain_inside:,}"
    )
    print(
        f"  platform (CONCURRENTLY, in a run) {online_took:6.2f} s  longest insert stall "
        f"{online_stall:6.2f} s  rows inserted during the build: {online_inside:,}  "
        f"(index valid: {valid}; the run's time includes Dagster's)"
    )


if __name__ == "__main__":
    main()
