"""The shipped graph and its plan, pinned: a change to either is seen in review.

`asset_graph.json` holds every AssetSpec and check spec of the shipped `sql/` and
`seeds/` (key, deps, group, kinds, code version, checks); `five_systems_plan.txt` the
`platform plan` of the five systems against an empty database (partition dates made
neutral). Regenerate both with `PLATFORM_WRITE_SNAPSHOTS=1 pytest tests/systems/test_snapshots.py`
when a change to them is intended, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import dagster as dg

from tests.support.cli import plan
from tests.support.project import REPO, Project

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _matches(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("PLATFORM_WRITE_SNAPSHOTS"):
        path.write_text(actual)
    expected = path.read_text()
    assert actual == expected, f"{name} differs from the committed snapshot"


def asset_graph_snapshot(defs: dg.Definitions) -> str:
    """Every asset and check spec, sorted, as JSON."""
    graph = defs.resolve_asset_graph()
    assets = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets.append(
            {
                "key": key.to_user_string(),
                "deps": sorted(dep.to_user_string() for dep in node.parent_keys),
                "group": node.group_name,
                "kinds": sorted(node.kinds),
                "code_version": node.code_version,
                "checks": sorted(check.name for check in node.check_keys),
            }
        )
    return json.dumps(assets, indent=1, sort_keys=True) + "\n"


def test_shipped_asset_graph_matches_its_snapshot():
    from platform_assets.definitions import defs

    _matches("asset_graph.json", asset_graph_snapshot(defs))


def test_five_systems_plan_matches_its_snapshot(database):
    result = plan(Project(REPO), database)
    assert result.returncode == 2, result.stdout + result.stderr
    # Partitions are named and bounded by today's date: make them neutral.
    date = r"\d{4}-?\d{2}-?\d{2}([ T]\d{2}:\d{2}:\d{2}(\+00(:00)?)?)?"
    neutral = re.sub(date, "D", result.stdout)
    _matches("five_systems_plan.txt", neutral)
