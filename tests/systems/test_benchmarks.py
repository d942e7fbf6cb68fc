"""Every benchmark runs (tiny sizes, figures ignored), so none of them rots."""

from __future__ import annotations

import subprocess
import sys

from tests.support.project import REPO


def test_every_benchmark_runs_and_prints_its_floor(tmp_path):
    output = tmp_path / "results.md"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--smoke"]
        + ["--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sections = output.read_text().split("\n## ")[1:]
    assert len(sections) >= 5
    for section in sections:
        assert "floor" in section, section
        assert "FAILED" not in section, section
