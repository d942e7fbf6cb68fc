"""Definitions load time: `import platform_assets.definitions` against `import dagster`.

    python benchmarks/definitions_load.py              # the shipped sql/
    python benchmarks/definitions_load.py --objects 1000   # a generated sql/ of N objects

Each figure is the median wall time of fresh interpreter processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def generated_project(objects: int) -> Path:
    """A project whose sql/ declares about `objects` objects: tables with an index each."""
    root = Path(tempfile.mkdtemp(prefix="platform-bench-"))
    lines = ["CREATE SCHEMA bench;"]
    tables = max(1, (objects - 1) // 2)
    for i in range(tables):
        reference = f" REFERENCES bench.t{i - 1} (id)" if i else ""
        lines.append(
            f"CREATE TABLE bench.t{i} (id bigint PRIMARY KEY, parent bigint{reference}, "
            f"created_at timestamptz NOT NULL DEFAULT now(), note text);"
        )
        lines.append(f"CREATE INDEX idx_t{i}_created ON bench.t{i} (created_at DESC);")
    (root / "sql").mkdir()
    (root / "sql" / "bench.sql").write_text("\n".join(lines) + "\n")
    return root


def timed(code: str, env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.objects:
        env["PLATFORM_PROJECT_DIR"] = str(generated_project(args.objects))
    code = "import platform_assets.definitions"
    floor = timed("import dagster", env, args.runs)
    ours = timed(code, env, args.runs)
    label = f"generated sql/ of {args.objects} objects" if args.objects else "the shipped sql/"
    print(f"definitions load ({label}), median of {args.runs}:")
    print(f"  import dagster (floor):               {floor:.2f} s")
    print(f"  import platform_assets.definitions:   {ours:.2f} s  (+{ours - floor:.2f} s)")


if __name__ == "__main__":
    main()
