"""Full-graph materialize of the five systems (or a generated schema) against its floors.

    python benchmarks/materialize.py [--runs 3] [--objects N]

With the shipped `dagster.yaml` (Dagster's storage in PostgreSQL, pooled), in one run:

- cold: `dagster asset materialize --select '*'` into an empty database (Dagster's
  storage created and the compiled graph cached beforehand, untimed);
- no-op: the same command again (must execute 0 DDL statements), against
  `python -c "import platform_assets.definitions"` (the load every run pays) and
  `platform plan` of the same database;
- Dagster's own cost of a run: the same command for one trivial asset, and for a
  trivial multi_asset of as many skippable assets and checks whose step yields nothing
  (what a run that does nothing costs in Dagster alone);
- floor: the SQL the cold run executed (its DDL, less the seeds' staging tables),
  applied with `psql -f` to another empty database, plus a trivial Dagster run of
  as many assets and asset checks on the same instance configuration (one
  multi-asset that only yields its results), i.e. what any Dagster-driven tool pays.

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

from benchmarks.definitions_load import project_of  # noqa: E402
from platform_assets.dagster.assets import build_schema_assets  # noqa: E402
from platform_assets.live.embedded import EmbeddedCluster, find_bindir  # noqa: E402
from platform_assets.parse.compiler import compile_directory  # noqa: E402
from platform_assets.parse.dialect import DIALECT  # noqa: E402
from platform_assets.seeding.load import STAGE  # noqa: E402

DAGSTER = str(Path(sys.executable).parent / "dagster")
LOAD = "import platform_assets.definitions"

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
# What `dagster asset materialize` costs before any asset does anything.
ONE_ASSET_DEFINITIONS = TRIVIAL_DEFINITIONS.format(count=1, checks=0)
# What Dagster costs for a run of as many assets and checks in which nothing happens:
# every spec skippable, the step yields nothing (the planned events, the plan, the step).
IDLE_DEFINITIONS = """\
import dagster as dg


@dg.multi_asset(
    specs=[dg.AssetSpec(f"a{{i}}", skippable=True) for i in range({count})],
    check_specs=[dg.AssetCheckSpec(f"c{{i}}", asset=f"a{{i % {count}}}") for i in range({checks})],
    can_subset=True,
)
def idle(context: dg.AssetExecutionContext):
    yield from ()


defs = dg.Definitions(assets=[idle], executor=dg.in_process_executor)
"""


def timed(command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
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


def measure(root: Path, runs: int, roles: tuple[str, ...] = ()) -> dict[str, object]:
    """Every figure of one project (median seconds), on a throwaway cluster with `roles`
    (those the project's grants name)."""
    graph = compile_directory(root / "sql", root)
    assets = len(graph) + len(graph.seeds)
    checks = len(build_schema_assets(graph).check_specs)
    work = Path(tempfile.mkdtemp(prefix="platform-bench-"))
    work.chmod(0o755)
    cluster = EmbeddedCluster(work / "cluster")
    cluster.up(databases=())
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        for role in roles:
            conn.execute(psycopg.sql.SQL("CREATE ROLE {}").format(psycopg.sql.Identifier(role)))
    home = work / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    trivial = work / "trivial_defs.py"
    trivial.write_text(TRIVIAL_DEFINITIONS.format(count=assets, checks=checks))
    one_asset = work / "one_asset_defs.py"
    one_asset.write_text(ONE_ASSET_DEFINITIONS)
    idle = work / "idle_defs.py"
    idle.write_text(IDLE_DEFINITIONS.format(count=assets, checks=checks))
    base_env = {**os.environ, "DAGSTER_HOME": str(home), "PLATFORM_PROJECT_DIR": str(root)}
    materialize = [DAGSTER, "asset", "materialize", "-m", "platform_assets.definitions"]
    figures: dict[str, list[float]] = {
        name: []
        for name in ("cold", "noop", "psql", "trivial", "load", "plan", "one_asset", "idle")
    }
    ddl_noop: list[int] = []
    statements: list[str] = []
    try:
        for run in range(runs):
            ours, floor, storage = f"bench_ours_{run}", f"bench_floor_{run}", f"bench_dagster_{run}"
            for name in (ours, floor, storage):
                cluster.create_database(name)
            with psycopg.connect(cluster.url(ours), autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {ours} SET log_statement = 'ddl'")
            env = {
                **base_env,
                "PLATFORM_DATABASE_URL": cluster.url(ours),
                "PLATFORM_DAGSTER_STORAGE_URL": cluster.url(storage),
            }
            # Untimed: Dagster's storage created (its tables and migrations, on the first
            # command against a new database) and the compiled graph cached, as every run
            # after a project's first finds them, so the cold run and its floor, which
            # runs later on the same storage, pay for neither.
            timed(
                [sys.executable, "-c", f"{LOAD}; import dagster; dagster.DagsterInstance.get()"],
                env,
            )
            offset = cluster.log_file.stat().st_size
            figures["cold"].append(timed([*materialize, "--select", "*"], env))
            statements = [s for s in executed_sql(cluster, ours, offset) if not stages_seed(s)]
            script = work / f"floor_{run}.sql"
            script.write_text("".join(s.rstrip().rstrip(";") + ";\n" for s in statements))
            offset = cluster.log_file.stat().st_size
            figures["noop"].append(timed([*materialize, "--select", "*"], env))
            ddl_noop.append(len(executed_sql(cluster, ours, offset)))
            figures["load"].append(timed([sys.executable, "-c", LOAD], env))
            figures["plan"].append(
                timed([sys.executable, "-m", "platform_assets.cli", "plan"], env, ok=(0, 2))
            )
            figures["psql"].append(
                timed(
                    [str(find_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                     "-f", str(script), cluster.url(floor)],
                    base_env,
                )
            )  # fmt: skip
            figures["trivial"].append(
                timed([DAGSTER, "asset", "materialize", "-f", str(trivial), "--select", "*"], env)
            )
            figures["one_asset"].append(
                timed([DAGSTER, "asset", "materialize", "-f", str(one_asset), "--select", "*"], env)
            )
            figures["idle"].append(
                timed([DAGSTER, "asset", "materialize", "-f", str(idle), "--select", "*"], env)
            )
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, object] = {name: statistics.median(v) for name, v in figures.items()}
    result.update(assets=assets, checks=checks, ddl=len(statements), ddl_noop=max(ddl_noop))
    return result


def report(f: dict[str, object], what: str, runs: int) -> None:
    """The figures of `measure`, each next to its floor."""
    floor = f["psql"] + f["trivial"]
    rows = [
        ("floor: psql -f of the same SQL", f["psql"], ""),
        ("floor: trivial Dagster run", f["trivial"], f"{f['assets']} assets, {f['checks']} checks"),
        ("floor total", floor, ""),
        ("cold materialize", f["cold"], f"{f['cold'] / floor:.2f}x floor total"),
        ("definitions load", f["load"], "python -c 'import platform_assets.definitions'"),
        (
            "Dagster run of one asset",
            f["one_asset"],
            f"{f['one_asset'] / f['load']:.2f}x definitions load (the same command, one "
            "trivial asset: Dagster's own cost of a run)",
        ),
        (
            "Dagster run, nothing done",
            f["idle"],
            f"{f['idle'] / f['load']:.2f}x definitions load (the same command, a trivial "
            "multi_asset of as many skippable assets and checks whose step yields nothing)",
        ),
        (
            "no-op re-materialize",
            f["noop"],
            f"{f['noop'] / f['load']:.2f}x definitions load, DDL statements: {f['ddl_noop']}",
        ),
        (
            "platform plan (nothing to do)",
            f["plan"],
            f"{f['plan'] / f['load']:.2f}x definitions load",
        ),
    ]
    print(
        f"full graph of {what}: {f['assets']} assets with {f['checks']} checks (run with "
        f"them), {f['ddl']} DDL statements"
    )
    print(
        f"median of {runs} run(s) each, wall time, plain PostgreSQL (embedded cluster), "
        "the shipped dagster.yaml (storage in PostgreSQL):"
    )
    for label, seconds, note in rows:
        print(f"  {label:<32} {seconds:6.2f} s  {note}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--objects", type=int, default=0, help="a generated sql/ of N objects")
    args = parser.parse_args()
    with project_of(args.objects) as root:
        figures = measure(root, args.runs)
    what = f"generated sql/ of {args.objects} objects" if args.objects else "the five systems"
    report(figures, what, args.runs)


if __name__ == "__main__":
    main()
