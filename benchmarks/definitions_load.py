"""Definitions load time: `import platform_assets.definitions`, compiling `sql/` and from
the compiled graph's cache, against Dagster's own floor.

    python benchmarks/definitions_load.py                  # the shipped sql/
    python benchmarks/definitions_load.py --objects 10000  # a generated sql/ of N objects

Floors: `import dagster`, and Dagster's own cost for as many assets: a trivial
multi_asset with as many specs and asset checks (each spec with the same dependencies,
so Dagster does the same graph work), in a Definitions with the in-process executor.
Each figure is the median wall time of fresh interpreter processes.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOAD = "import platform_assets.definitions"

# Dagster's floor for a graph of the same shape: asset keys, their dependencies and the
# checks of each, as data (no parsing), in one trivial multi_asset.
FLOOR_DEFINITIONS = """\
import json
import dagster as dg

shape = json.load(open({shape!r}))
specs = [
    dg.AssetSpec(dg.AssetKey(key), deps=[dg.AssetKey(dep) for dep in deps], skippable=True)
    for key, deps in shape["assets"]
]
checks = [dg.AssetCheckSpec(name, asset=dg.AssetKey(key)) for key, name in shape["checks"]]


@dg.multi_asset(specs=specs, check_specs=checks, can_subset=True)
def trivial(context: dg.AssetExecutionContext):
    for key in context.selected_asset_keys:
        yield dg.MaterializeResult(asset_key=key)


defs = dg.Definitions(assets=[trivial], executor=dg.in_process_executor)
"""


def generated_project(objects: int, root: Path | None = None) -> Path:
    """A project whose sql/ declares `objects` objects: a schema, then tables each with
    an index and a foreign key to the table before it."""
    root = root or Path(tempfile.mkdtemp(prefix="platform-bench-"))
    lines = ["CREATE SCHEMA bench;"]
    tables = max(1, (objects - 1) // 2)
    for i in range(tables):
        reference = f" REFERENCES bench.t{i - 1} (id)" if i else ""
        lines.append(
            f"CREATE TABLE bench.t{i} (id bigint PRIMARY KEY, parent bigint{reference}, "
            f"created_at timestamptz NOT NULL DEFAULT now(), note text);"
        )
        lines.append(f"CREATE INDEX idx_t{i}_created ON bench.t{i} (created_at DESC);")
    (root / "sql").mkdir(parents=True, exist_ok=True)
    (root / "sql" / "bench.sql").write_text("\n".join(lines) + "\n")
    return root


def write_floor(root: Path, directory: Path) -> Path:
    """The floor's definitions file, for the graph of the project at `root`."""
    import json

    sys.path.insert(0, str(REPO))
    from platform_assets.dagster.assets import build_schema_assets
    from platform_assets.parse.compiler import compile_directory

    assets = build_schema_assets(compile_directory(root / "sql", root))
    shape = {
        "assets": [
            [key.path, [dep.asset_key.path for dep in spec.deps]]
            for key, spec in assets.specs_by_key.items()
        ],
        "checks": [[c.asset_key.path, c.name] for c in assets.check_specs],
    }
    (directory / "shape.json").write_text(json.dumps(shape))
    floor = directory / "floor_defs.py"
    floor.write_text(FLOOR_DEFINITIONS.format(shape=str(directory / "shape.json")))
    return floor


def timed(code: str, env: dict[str, str], runs: int, before=None) -> float:
    samples = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(root: Path, runs: int) -> dict[str, float]:
    """Median seconds of: import dagster, Dagster's floor, ours compiling, ours cached."""
    env = {**os.environ, "PLATFORM_PROJECT_DIR": str(root)}
    cache = root / ".platform" / "cache"
    work = Path(tempfile.mkdtemp(prefix="platform-floor-"))
    try:
        floor = write_floor(root, work)
        figures = {
            "import dagster": timed("import dagster", env, runs),
            "floor": timed(f"import runpy; runpy.run_path({str(floor)!r})", env, runs),
            "compiled": timed(LOAD, env, runs, before=lambda: shutil.rmtree(cache, True)),
        }
        subprocess.run([sys.executable, "-c", LOAD], env=env, check=True)  # fills the cache
        figures["cached"] = timed(LOAD, env, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def report(figures: dict[str, float], what: str, runs: int) -> None:
    """The figures of `measure`, each next to its floor."""
    floor, bare = figures["floor"], figures["import dagster"]
    print(f"definitions load ({what}), median of {runs}:")
    print(f"  floor: import dagster                    {bare:6.2f} s")
    print(f"  floor: trivial multi_asset, same graph   {floor:6.2f} s")
    for name, title in (("compiled", "compiling sql/"), ("cached", "from the cache")):
        seconds = figures[name]
        print(
            f"  import platform_assets.definitions, {title:<15} {seconds:6.2f} s  "
            f"{seconds / floor:.2f}x floor (+{seconds - bare:.2f} s over import dagster)"
        )


@contextmanager
def project_of(objects: int) -> Iterator[Path]:
    """A generated project of `objects` objects, removed after; 0: this repository."""
    root = generated_project(objects) if objects else REPO
    try:
        yield root
    finally:
        if objects:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with project_of(args.objects) as root:
        figures = measure(root, args.runs)
    label = f"generated sql/ of {args.objects} objects" if args.objects else "the shipped sql/"
    report(figures, label, args.runs)


if __name__ == "__main__":
    main()
