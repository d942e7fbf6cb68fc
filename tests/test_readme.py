"""CI runs the README's two commands exactly as the README gives them."""

from __future__ import annotations

import re

from tests.support.project import REPO


def _bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)


def test_ci_runs_the_readme_commands_verbatim():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    blocks = _bash_blocks(readme)
    main_job, test_command = blocks[0].strip(), blocks[1].strip()
    assert "dagster asset materialize" in main_job
    assert test_command == ".venv/bin/pytest"
    assert main_job in ci
    assert ci.rstrip().endswith(test_command)
