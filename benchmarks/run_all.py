"""Run every benchmark and write their figures, with the commands, to one results file.

    python benchmarks/run_all.py                 # full sizes -> benchmarks/results.md
    python benchmarks/run_all.py --smoke --output /tmp/results.md   # tiny sizes

Each benchmark prints its figure next to its floor measured in the same run; this
collects those printouts verbatim. `--smoke` runs the same scripts with tiny sizes
(the test suite does, so they don't rot); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script, full-size arguments, smoke arguments
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [  # fmt: skip
    ("definitions_load.py", ["--runs", "5"], ["--runs", "1"]),
    (
        "definitions_load.py",
        ["--objects", "1000", "--runs", "5"],
        ["--objects", "50", "--runs", "1"],
    ),
    (
        "definitions_load.py",
        ["--objects", "10000", "--runs", "3"],
        ["--objects", "20", "--runs", "1"],
    ),
    ("materialize.py", ["--runs", "3"], ["--runs", "1"]),
    ("pg_dump_load.py", ["--objects", "1000", "--runs", "1"], ["--objects", "20", "--runs", "1"]),
    (
        "scaling.py",
        ["--sizes", "100,1000,10000", "--materialize-up-to", "1000"],
        ["--sizes", "10", "--plot", ""],
    ),
    ("ingest.py", ["--rows", "500000", "--batches", "10"], ["--rows", "2000", "--batches", "2"]),
    ("sensor_tick.py", ["--chunks", "10000", "--runs", "3"], ["--chunks", "50", "--runs", "1"]),
    ("seed_load.py", ["--rows", "1000000", "--runs", "3"], ["--rows", "2000", "--runs", "1"]),
    ("online_index.py", ["--rows", "1000000"], ["--rows", "2000"]),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to see each one runs")
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args(argv)

    sections = []
    failed = []
    for script, full, smoke in BENCHMARKS:
        arguments = smoke if args.smoke else full
        shown = " ".join(["python", f"benchmarks/{script}", *arguments])
        print(f"$ {shown}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(HERE / script), *arguments],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            check=False,
        )
        took = time.perf_counter() - start
        print(result.stdout, end="", flush=True)
        body = result.stdout.rstrip()
        if result.returncode != 0:
            failed.append(shown)
            body += f"\n\nFAILED (exit {result.returncode}):\n{result.stderr[-3000:]}"
        sections.append(f"## `{shown}`\n\n({took:.0f} s)\n\n```\n{body}\n```\n")

    header = (
        "# Benchmark results\n\n"
        f"Written by `python benchmarks/run_all.py{' --smoke' if args.smoke else ''}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, dagster {version('dagster')}, "
        f"{platform.system()} {platform.machine()}. Wall times; each figure is printed next "
        "to its floor, both measured in the same run. Read the goals and what the figures "
        "mean in [README.md](README.md).\n"
    )
    args.output.write_text("\n".join([header, *sections]))
    print(f"written: {args.output}")
    if failed:
        print("failed: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
