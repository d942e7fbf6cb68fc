"""Full-graph materialize of the five systems against its floor, in one run.

    python benchmarks/materialize.py [--runs 3]

- cold: `dagster asset materialize --select '*'` into an empty database;
- no-op: the same command again (must execute 0 DDL statements);
- floor: the SQL the cold run executed (its DDL, less the seeds' staging tables),
  applied with `psql -f` to another empty database, plus a trivial Dagster run of
  the same number of assets (one multi-asset that does nothing), i.e. what any
  Dagster-driven tool pays.

Runs on a throwaway embedded cluster; prints median wall times and ratios.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import sqlglot
from sqlglot import exp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The shipped admin seed stores the hash of this password; on a throwaway cluster
# any will do.
os.environ.setdefault("WILDDUCK_ADMIN_PASSWORD", secrets.token_urlsafe(16))

from platform_assets.dagster.assets import build_schema_assets  # noqa: E402
from platform_assets.live.embedded import EmbeddedCluster, find_bindir  # noqa: E402
from platform_assets.parse.compiler import compile_directory  # noqa: E402
from platform_assets.parse.dialect import DIALECT  # noqa: E402
from platform_assets.seeding.load import STAGE  # noqa: E402

DAGSTER = str(Path(sys.executable).parent / "dagster")

TRIVIAL_DEFINITIONS = """\
import dagster as dg

COUNT = {count}
CHECKS = {checks}


@dg.multi_asset(
    specs=[dg.AssetSpec(f"a{{i}}", skippable=True) for i in range(COUNT)],
    check_specs=[dg.AssetCheckSpec(f"c{{i}}", asset=f"a{{i % COUNT}}") for i in range(CHECKS)],
    can_subset=True,
)
def trivial(context: dg.AssetExecutionContext):
    for key in context.selected_asset_keys:
        yield dg.MaterializeResult(asset_key=key)
    for check in context.selected_asset_check_keys:
        yield dg.AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)


defs = dg.Definitions(assets=[trivial], executor=dg.in_process_executor)
"""


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def executed_sql(cluster: EmbeddedCluster, database: str, log_offset: int) -> list[str]:
    """The DDL statements the server logged for `database` after `log_offset`."""
    text = cluster.log_file.read_text(errors="replace")[log_offset:]
    statements: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line[:4].isdigit():  # a new log entry starts with its timestamp
            current = None
            if f"db={database} " in line and "statement: " in line:
                current = [line.split("statement: ", 1)[1]]
                statements.append(current)
        elif current is not None:  # a continuation line of a multi-line statement
            current.append(line)
    return ["\n".join(lines) for lines in statements]


def stages_seed(statement: str) -> bool:
    """DDL of a seed's temporary staging table: how rows are loaded, not schema, and
    meaningless without the rows, which the floor does not replay."""
    tree = sqlglot.parse_one(statement, read=DIALECT)
    return any(table.name == STAGE for table in tree.find_all(exp.Table))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    graph = compile_directory(REPO / "sql", REPO)
    assets = len(graph)
    checks = len(build_schema_assets(graph).check_specs)
    work = Path(tempfile.mkdtemp(prefix="platform-bench-"))
    work.chmod(0o755)
    cluster = EmbeddedCluster(work / "cluster")
    cluster.up(databases=())
    (work / "home").mkdir()
    trivial = work / "trivial"
    trivial.mkdir()
    (trivial / "trivial_defs.py").write_text(TRIVIAL_DEFINITIONS.format(count=assets, checks=0))
    (trivial / "trivial_checked_defs.py").write_text(
        TRIVIAL_DEFINITIONS.format(count=assets, checks=checks)
    )
    base_env = {**os.environ, "DAGSTER_HOME": str(work / "home")}
    base_env.pop("PLATFORM_PROJECT_DIR", None)
    materialize = [DAGSTER, "asset", "materialize", "-m", "platform_assets.definitions"]
    try:
        cold, noop, floor_psql, floor_dagster, floor_checked, ddl_noop = [], [], [], [], [], []
        for run in range(args.runs):
            ours, floor = f"bench_ours_{run}", f"bench_floor_{run}"
            for name in (ours, floor):
                cluster.create_database(name)
            with psycopg.connect(cluster.url(ours), autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {ours} SET log_statement = 'ddl'")
            env = {**base_env, "PLATFORM_DATABASE_URL": cluster.url(ours)}
            offset = cluster.log_file.stat().st_size
            cold.append(timed([*materialize, "--select", "*"], env))
            statements = [s for s in executed_sql(cluster, ours, offset) if not stages_seed(s)]
            script = work / f"floor_{run}.sql"
            script.write_text("".join(s.rstrip().rstrip(";") + ";\n" for s in statements))
            offset = cluster.log_file.stat().st_size
            noop.append(timed([*materialize, "--select", "*"], env))
            ddl_noop.append(len(executed_sql(cluster, ours, offset)))
            floor_psql.append(
                timed(
                    [str(find_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                     "-f", str(script), cluster.url(floor)],
                    base_env,
                )
            )  # fmt: skip
            for defs_file, times in (
                ("trivial_defs.py", floor_dagster),
                ("trivial_checked_defs.py", floor_checked),
            ):
                times.append(
                    timed(
                        [DAGSTER, "asset", "materialize", "-f", str(trivial / defs_file),
                         "--select", "*"],
                        base_env,
                    )
                )  # fmt: skip
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    floor = med(floor_psql) + med(floor_dagster)
    checked = med(floor_psql) + med(floor_checked)
    rows = [
        ("floor: psql -f of the same SQL", med(floor_psql), ""),
        ("floor: trivial Dagster run", med(floor_dagster), f"{assets} assets"),
        ("floor total", floor, ""),
        ("floor: trivial run with checks", med(floor_checked), f"{assets} assets, {checks} checks"),
        ("floor total with checks", checked, ""),
        (
            "cold materialize",
            med(cold),
            f"{med(cold) / floor:.2f}x floor, {med(cold) / checked:.2f}x floor with checks",
        ),
        (
            "no-op re-materialize",
            med(noop),
            f"{med(noop) / floor:.2f}x floor, {med(noop) / checked:.2f}x floor with checks, "
            f"DDL statements: {max(ddl_noop)}",
        ),
    ]
    print(
        f"full graph of the five systems: {assets} assets with {checks} checks (run with them), "
        f"{len(statements)} DDL statements"
    )
    print(f"median of {args.runs} run(s) each, wall time, plain PostgreSQL (embedded cluster):")
    for label, seconds, note in rows:
        print(f"  {label:<32} {seconds:6.2f} s  {note}")


if __name__ == "__main__":
    main()
