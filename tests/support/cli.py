"""The command lines as a user runs them: `platform` (and `platform plan`), `dagster`, `dg`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.databases import Server
from tests.support.project import REPO, Project


def platform(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """`platform ARGS` (the package's CLI) in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "platform_assets.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def plan(project: Project, database: Server, *args: str) -> subprocess.CompletedProcess:
    """`platform plan ARGS` of the project's `sql/` against the database."""
    env = {
        **os.environ,
        "PLATFORM_PROJECT_DIR": str(project.root),
        "PLATFORM_DATABASE_URL": database.url,
    }
    return platform("plan", *args, env=env)


def statements(result: subprocess.CompletedProcess) -> list[str]:
    """The planned statements (indented lines of the plan)."""
    return [line.strip() for line in result.stdout.splitlines() if line.startswith("    ")]


def dagster_cli(
    *args: str, env: dict[str, str], tool: str = "dagster"
) -> subprocess.CompletedProcess:
    """`dagster ARGS` (or another tool of the environment, e.g. `dg`) from the repository."""
    return subprocess.run(
        [str(Path(sys.executable).parent / tool), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
