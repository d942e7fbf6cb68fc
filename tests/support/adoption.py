"""An imported project and the database it adopts: its files, and the proof it adopts it."""

from __future__ import annotations

from tests.support.cli import plan, statements
from tests.support.databases import Server
from tests.support.project import Project
from tests.support.runs import materializations, materialize


def files_of(project: Project) -> dict[str, str]:
    sql_dir = project.root / "sql"
    return {str(p.relative_to(sql_dir)): p.read_text() for p in sorted(sql_dir.rglob("*.sql"))}


def assert_adopts(project: Project, database: Server) -> dict[str, dict]:
    """Plan 0 statements; a materialization executes no DDL, changes no seeded row, and
    every check passes. Returns what the run recorded per asset key."""
    result = plan(project, database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert statements(result) == []
    run = materialize(project.graph(), database.url)
    recorded = materializations(run)
    executed = {k: m["statements_executed"] for k, m in recorded.items() if "inserted" not in m}
    assert not any(executed.values()), executed
    seeded = {k: m["action"] for k, m in recorded.items() if "inserted" in m}
    assert all(action == "unchanged" for action in seeded.values()), seeded
    checks = run.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [
        (c.asset_key.to_user_string(), c.check_name, c.description) for c in checks if not c.passed
    ]
    return recorded
