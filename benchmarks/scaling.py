"""Cost against schema size: definitions load, cold and no-op materialize of generated
schemas of 100, 1,000 and 10,000 objects, each next to its floor, plotted.

    python benchmarks/scaling.py [--sizes 100,1000,10000] [--materialize-up-to 1000]
        [--plot benchmarks/scaling.png]

Per size, one run of each (the figures of `definitions_load.py` and `materialize.py`):
definitions load compiling `sql/` and from the cache against Dagster's own load of a
trivial multi_asset of the same graph; cold and no-op `dagster asset materialize
--select '*'` with the shipped `dagster.yaml` against `psql -f` of the same SQL plus a
trivial Dagster run of as many assets and checks on the same instance configuration;
the no-op next to Dagster's own run of as many skippable assets and checks that does
nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import definitions_load, materialize  # noqa: E402

# label, figure, line style: ours solid, floors dashed.
SERIES = [
    ("definitions load, compiling sql/", "compiled", "C0", "-"),
    ("definitions load, from the cache", "cached", "C0", ":"),
    ("floor: Dagster's load of the same graph", "floor_load", "C0", "--"),
    ("cold materialize", "cold", "C1", "-"),
    ("floor: psql -f + trivial Dagster run", "floor_run", "C1", "--"),
    ("no-op materialize", "noop", "C2", "-"),
    ("floor: Dagster run, nothing done", "idle", "C2", "--"),
]


def measure(objects: int, runs: bool = True) -> dict[str, float]:
    """One size's figures; without `runs`, the definitions load only (the materialize
    figures are NaN: not measured)."""
    with definitions_load.project_of(objects) as root:
        load = definitions_load.measure(root, runs=1)
        run = materialize.measure(root, runs=1) if runs else None
    nan = float("nan")
    return {
        "compiled": load["compiled"],
        "cached": load["cached"],
        "floor_load": load["floor"],
        "cold": run["cold"] if run else nan,
        "floor_run": run["psql"] + run["trivial"] if run else nan,
        "noop": run["noop"] if run else nan,
        "idle": run["idle"] if run else nan,
    }


def plot(sizes: list[int], figures: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=100)
    for label, name, color, style in SERIES:
        axes.plot(sizes, [f[name] for f in figures], style, color=color, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("declared objects (tables with an index and a foreign key each)")
    axes.set_ylabel("wall time, s")
    axes.set_title("Cost against schema size (2 cores, plain PostgreSQL, pooled storage)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument(
        "--materialize-up-to",
        type=int,
        default=0,
        help="measure the cold and no-op runs only up to this size (0: every size)",
    )
    parser.add_argument(
        "--plot", default=str(Path(__file__).with_name("scaling.png")), help="'' for a temp file"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print("one run per size, wall time in seconds, plain PostgreSQL, the shipped dagster.yaml:")
    print(
        f"  {'objects':>8}  {'load':>6} {'cached':>6} "
        f"{'floor':>6} {'ratio':>6}  {'cold':>7} {'floor':>7} {'ratio':>6}  {'no-op':>7} "
        f"{'/load':>6} {'idle':>7}",
        flush=True,
    )
    figures = []
    for size in sizes:  # each row as it is measured: the large sizes take long
        f = measure(size, runs=not args.materialize_up_to or size <= args.materialize_up_to)
        figures.append(f)
        print(
            f"  {size:>8}  {f['compiled']:6.2f} "
            f"{f['cached']:6.2f} {f['floor_load']:6.2f} {f['cached'] / f['floor_load']:5.2f}x  "
            f"{f['cold']:7.2f} {f['floor_run']:7.2f} {f['cold'] / f['floor_run']:5.2f}x  "
            f"{f['noop']:7.2f} {f['noop'] / f['cached']:5.2f}x {f['idle']:7.2f}",
            flush=True,
        )
    print(
        "  (load: compiling sql/; cached: from the graph cache; floor: Dagster's load of a "
        "trivial multi_asset of the same graph; ratio: cached / floor; cold floor: psql -f + "
        "a trivial Dagster run; /load: no-op over the cached definitions load; idle: Dagster's "
        "run of as many skippable assets and checks doing nothing; nan: not measured)"
    )
    target = Path(args.plot) if args.plot else Path(tempfile.mkdtemp()) / "scaling.png"
    plot(sizes, figures, target)
    print(f"  plot: {target.name if args.plot else 'written to a temporary file'}")


if __name__ == "__main__":
    main()
