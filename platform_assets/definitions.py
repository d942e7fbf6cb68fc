"""Everything the platform gives Dagster: `defs`, loaded by `workspace.yaml`, the CLI and `dg`.

The definitions are the `SchemaComponent` instance in `defs/schema/defs.yaml`, loaded the
way `dg` loads a project's defs folder.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from platform_assets.parse.cache import long_lived

# The definitions live as long as the process: built without the collector rescanning
# them (a fifth of a 10,000-object load), then moved out of its sight (parse/cache.py).
with long_lived():
    defs = dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
