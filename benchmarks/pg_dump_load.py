"""A real pg_dump as a project: definitions load and the no-op run of ~1,000 objects.

    python benchmarks/pg_dump_load.py --objects 1000 --runs 3

A throwaway cluster gets a schema of tables (serial key, foreign key, index,
comment, grant) and views; its `pg_dump --schema-only` is the project's sql/,
unchanged. Printed, for that project, what `definitions_load.py` and
`materialize.py` print for the five systems: definitions load (compiling and
cached) against Dagster's load of a trivial multi_asset of the same graph, and
the CLI's cold and no-op `--select '*'` with the shipped `dagster.yaml` against
their floors.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import definitions_load, materialize  # noqa: E402
from platform_assets.live.embedded import EmbeddedCluster  # noqa: E402
from platform_assets.parse.compiler import compile_directory  # noqa: E402

READER = "bench_reader"  # the role the schema grants to


def schema_sql(objects: int) -> str:
    """About `objects` graph objects: per table a table, its sequence, an index; a view
    every fifth table."""
    lines = ["CREATE SCHEMA bench;", f"CREATE ROLE {READER};"]
    tables = max(1, objects // 3)
    for i in range(tables):
        reference = f" REFERENCES bench.t{i - 1} (id)" if i else ""
        lines += [
            f"CREATE TABLE bench.t{i} (id serial PRIMARY KEY, parent int{reference}, "
            f"created_at timestamptz NOT NULL DEFAULT now(), note text);",
            f"CREATE INDEX ON bench.t{i} (created_at DESC);",
            f"COMMENT ON TABLE bench.t{i} IS 'table {i}';",
            f"GRANT SELECT ON bench.t{i} TO {READER};",
        ]
        if i % 5 == 0:
            lines.append(f"CREATE VIEW bench.v{i} AS SELECT id, note FROM bench.t{i};")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="platform-bench-dump-"))
    directory.chmod(0o755)
    cluster = EmbeddedCluster(directory / "cluster")
    cluster.up(databases=("source",))
    try:
        with psycopg.connect(cluster.url("source"), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {READER}")
            conn.execute(schema_sql(args.objects))
        project = directory / "project"
        (project / "sql").mkdir(parents=True)
        (project / "sql" / "dump.sql").write_text(cluster.dump_schema("source"))
    finally:
        cluster.down()
    try:
        graph = compile_directory(project / "sql", project)
        what = f"a pg_dump of {len(graph)} objects"
        load = definitions_load.measure(project, args.runs)
        definitions_load.report(load, what, args.runs)
        run = materialize.measure(project, args.runs, roles=(READER,))
        materialize.report(run, what, args.runs)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
