"""CI runs the README's two commands exactly as the README gives them, and nothing else."""

from __future__ import annotations

import re

from tests.support.project import REPO

# What `.ci/run` may hold besides the two commands: its shebang and comments, strict mode,
# and moving to the repository root.
CI_PREAMBLE = {"set -euo pipefail", 'cd "$(dirname "$0")/.."'}


def _bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)


def test_ci_runs_the_readme_commands_verbatim_and_nothing_else():
    readme = (REPO / "README.md").read_text()
    blocks = _bash_blocks(readme)
    main_job, test_command = blocks[0].strip(), blocks[1].strip()
    assert "dagster asset materialize" in main_job
    assert "scripts/install-system-packages" in main_job
    assert test_command == ".venv/bin/pytest"

    lines = (REPO / ".ci" / "run").read_text().splitlines()
    commands = [
        line
        for line in lines
        if line.strip() and not line.startswith("#") and line.strip() not in CI_PREAMBLE
    ]
    assert "\n".join(commands) == f"{main_job}\n{test_command}"
