"""A real pg_dump as a project: definitions load and the no-op run of ~1,000 objects.

    python benchmarks/pg_dump_load.py --objects 1000 --runs 3

A throwaway cluster gets a schema of tables (serial key, foreign key, index,
comment, grant) and views; its `pg_dump --schema-only` is the project's sql/,
unchanged. Printed: definitions load (fresh interpreters, median) against
`import dagster`, then a cold materialize into an empty database and the no-op
run after it (in-process, with every in_sync check), with the statements each
executed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import psycopg

from platform_assets.dagster.assets import build_schema_assets
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.live.embedded import EmbeddedCluster
from platform_assets.parse.compiler import compile_directory


def schema_sql(objects: int) -> str:
    """About `objects` graph objects: per table a table, its sequence, an index; a view
    every fifth table."""
    lines = ["CREATE SCHEMA bench;", "CREATE ROLE bench_reader;"]
    tables = max(1, objects // 3)
    for i in range(tables):
        reference = f" REFERENCES bench.t{i - 1} (id)" if i else ""
        lines += [
            f"CREATE TABLE bench.t{i} (id serial PRIMARY KEY, parent int{reference}, "
            f"created_at timestamptz NOT NULL DEFAULT now(), note text);",
            f"CREATE INDEX ON bench.t{i} (created_at DESC);",
            f"COMMENT ON TABLE bench.t{i} IS 'table {i}';",
            f"GRANT SELECT ON bench.t{i} TO bench_reader;",
        ]
        if i % 5 == 0:
            lines.append(f"CREATE VIEW bench.v{i} AS SELECT id, note FROM bench.t{i};")
    return "\n".join(lines) + "\n"


def timed(code: str, env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def executed(result: dg.ExecuteInProcessResult) -> int:
    return sum(
        int(m.metadata["statements_executed"].value)
        for m in result.asset_materializations_for_node("schema_objects")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="platform-bench-dump-"))
    directory.chmod(0o755)
    cluster = EmbeddedCluster(directory / "cluster")
    cluster.up(databases=("source", "target"))
    try:
        with psycopg.connect(cluster.url("source"), autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS bench_reader")
            conn.execute(schema_sql(args.objects))
        project = directory / "project"
        (project / "sql").mkdir(parents=True)
        (project / "sql" / "dump.sql").write_text(cluster.dump_schema("source"))
        graph = compile_directory(project / "sql", project)

        env = {**os.environ, "PLATFORM_PROJECT_DIR": str(project)}
        env["PLATFORM_DATABASE_URL"] = cluster.url("target")
        floor = timed("import dagster", env, args.runs)
        ours = timed("import platform_assets.definitions", env, args.runs)
        print(f"pg_dump of {len(graph)} objects, definitions load (median of {args.runs}):")
        print(f"  import dagster (floor):               {floor:.2f} s")
        print(f"  import platform_assets.definitions:   {ours:.2f} s  (+{ours - floor:.2f} s)")

        assets = build_schema_assets(graph)
        resources = {"database": SchemaDatabase(url=cluster.url("target"))}
        for label in ("cold", "no-op"):
            start = time.perf_counter()
            result = dg.materialize([assets], resources=resources)
            seconds = time.perf_counter() - start
            print(f"  {label} materialize: {seconds:.2f} s, {executed(result)} statement(s)")
    finally:
        cluster.down()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
