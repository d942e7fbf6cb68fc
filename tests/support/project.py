"""A user's project directory, the repository itself and the five systems it ships."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from platform_assets.model.graph import SchemaGraph
from platform_assets.parse.compiler import compile_directory

REPO = Path(__file__).resolve().parents[2]
SYSTEMS = ("wildduck", "scheduler", "unity", "scan", "analytics")


@dataclass
class Project:
    """A project directory with its own `sql/`, as a user would write it."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def graph(self) -> SchemaGraph:
        return compile_directory(self.root / "sql", self.root)
