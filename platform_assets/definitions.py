"""Everything the platform gives Dagster: `defs`, loaded by `workspace.yaml`, the CLI and `dg`.

The definitions are the `SchemaComponent` instance in `defs/schema/defs.yaml`, loaded the
way `dg` loads a project's defs folder.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
