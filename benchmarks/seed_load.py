"""Seed loading rate against `psql -c "\\copy ..."` of the same file into the same table.

    python benchmarks/seed_load.py [--rows 1000000] [--runs 3]

A generated CSV (deterministic) of a reference-data table with a primary key, a
unique key and typed columns (text, boolean, timestamptz, text[], jsonb, inet,
NULLs). Each run, on a throwaway embedded cluster:

- floor: `psql -c "\\copy bench.items FROM 'items.csv' CSV HEADER"` into the empty table;
- seed load: the platform's load of the same file into the same empty table (pandas
  reads it, COPY into a staging table, one upsert), as a seed asset runs it;
- re-run: the same load again, every row already in place (nothing is written);
- edit: the load after every tenth row of the file changed (the upsert path).

Rows/s are file rows over wall time; the goal is at least 0.8 of psql's rate.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from platform_assets.live.embedded import SERVER_USER, EmbeddedCluster, find_bindir  # noqa: E402
from platform_assets.live.session import Session  # noqa: E402
from platform_assets.parse.compiler import compile_directory  # noqa: E402
from platform_assets.seeding.load import load_seed  # noqa: E402

SQL = """\
CREATE SCHEMA bench;
CREATE TABLE bench.items (
    id bigint PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    tier text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    tags text[],
    attrs jsonb,
    host inet,
    note text
);
"""
HEADER = "id,sku,tier,enabled,created_at,tags,attrs,host,note\n"


def write_csv(path: Path, rows: int, edit_every: int = 0) -> None:
    rng = random.Random(7)
    tiers = ("critical", "high", "medium", "low")
    with path.open("w") as out:
        out.write(HEADER)
        for i in range(rows):
            note = "edited" if edit_every and i % edit_every == 0 else ""
            out.write(
                f"{i},SKU-{i:08d},{rng.choice(tiers)},{'true' if i % 3 else 'false'},"
                f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00+02:00,"
                f'"{{a,b{i % 7}}}","{{""n"": {i % 100}}}",10.{i % 250}.{i % 200}.1,{note}\n'
            )


def psql_copy(cluster: EmbeddedCluster, database: str, csv_path: Path) -> float:
    command = [
        str(find_bindir() / "psql"),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port),
        "-U",
        SERVER_USER,
        "-d",
        database,
        "-c",
        f"\\copy bench.items FROM '{csv_path}' CSV HEADER",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="platform-bench-seed-"))
    work.chmod(0o755)
    project = work / "project"
    (project / "sql").mkdir(parents=True)
    (project / "seeds" / "bench").mkdir(parents=True)
    (project / "sql" / "bench.sql").write_text(SQL)
    csv_path = project / "seeds" / "bench" / "items.csv"
    write_csv(csv_path, args.rows)
    csv_path.chmod(0o644)
    graph = compile_directory(project / "sql", project)
    seed = graph.seeds[("bench", "seed", "items")]
    cluster = EmbeddedCluster(work / "cluster")
    cluster.up(databases=())
    floors, loads, reruns, edits = [], [], [], []
    try:
        for run in range(args.runs):
            database = f"bench_{run}"
            cluster.create_database(database)
            with psycopg.connect(cluster.url(database), autocommit=True) as conn:
                conn.execute(SQL)
                conn.execute("CREATE SCHEMA floor")
                conn.execute("CREATE TABLE floor.items (LIKE bench.items INCLUDING ALL)")
            # The floor: psql's \copy into the same (empty) table, then emptied.
            floors.append(psql_copy(cluster, database, csv_path))
            with psycopg.connect(cluster.url(database), autocommit=True) as conn:
                conn.execute("TRUNCATE bench.items")
                conn.execute("VACUUM ANALYZE bench.items")
                session = Session(conn)
                start = time.perf_counter()
                result = load_seed(session, seed, graph)
                loads.append(time.perf_counter() - start)
                assert result.inserted == args.rows, result
                start = time.perf_counter()
                result = load_seed(session, seed, graph)
                reruns.append(time.perf_counter() - start)
                assert result.inserted == result.updated == 0, result
                write_csv(csv_path, args.rows, edit_every=10)
                start = time.perf_counter()
                result = load_seed(session, seed, graph)
                edits.append(time.perf_counter() - start)
                assert result.updated == (args.rows + 9) // 10, result
                write_csv(csv_path, args.rows)
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median

    def rate(seconds: float) -> str:
        return f"{args.rows / seconds:>12,.0f} rows/s"

    floor = med(floors)
    print(f"seed load of a {args.rows:,}-row CSV into bench.items, median of {args.runs}:")
    print(f"  floor: psql \\copy (empty table)      {floor:7.2f} s {rate(floor)}")
    load = med(loads)
    verdict = "met" if floor / load >= 0.8 else "NOT met"
    print(
        f"  seed load (empty table)             {load:7.2f} s {rate(load)}  "
        f"{floor / load:.2f}x psql's rate; goal >= 0.8: {verdict}"
    )
    print(f"  seed re-run (all rows in place)     {med(reruns):7.2f} s {rate(med(reruns))}")
    print(f"  seed load, every 10th row edited    {med(edits):7.2f} s {rate(med(edits))}")


if __name__ == "__main__":
    main()
