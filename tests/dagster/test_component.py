"""The component in a team's own dg project: scaffolded with `dg scaffold defs`, pointed at a
small `sql/`, checked with `dg check defs` and run with `dg launch --assets '*'`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.project import REPO

DG = str(Path(sys.executable).parent / "dg")

# A dg project as `create-dagster project` lays it out: the package under src/, its
# definitions loading the defs folder.
PYPROJECT = """\
[project]
name = "team-warehouse"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["platform-assets"]

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "team_warehouse"
"""
DEFINITIONS = """\
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
"""
SCHEMA = """\
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, name text NOT NULL);
COMMENT ON COLUMN shop.customers.name IS 'As the customer writes it';
CREATE TABLE shop.orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES shop.customers (id)
);
CREATE INDEX idx_orders_customer ON shop.orders (customer_id);
"""
SEED = "id,name\n1,Ada\n2,Grace\n"


def new_dg_project(root: Path) -> Path:
    package = root / "src" / "team_warehouse"
    (package / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "definitions.py").write_text(DEFINITIONS)
    return package


def dg_command(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DG, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_component_in_a_new_dg_project_checks_and_launches(database, tmp_path):
    root = tmp_path / "team-warehouse"
    package = new_dg_project(root)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        # What installing the project into its environment would give: its package importable.
        "PYTHONPATH": str(root / "src"),
        # The instance names its own variable: the platform's stays unset.
        "WAREHOUSE_DATABASE_URL": database.url,
    }
    (tmp_path / "dagster_home").mkdir()

    scaffolded = dg_command(
        "scaffold", "defs", "platform_assets.SchemaComponent", "warehouse", cwd=root, env=env
    )
    assert scaffolded.returncode == 0, scaffolded.stderr[-3000:]
    defs_yaml = package / "defs" / "warehouse" / "defs.yaml"
    declaration = yaml.safe_load(defs_yaml.read_text())
    assert declaration["type"] == "platform_assets.SchemaComponent"
    assert declaration["attributes"]["sql_dir"] == "sql"
    declaration["attributes"]["database_url_env"] = "WAREHOUSE_DATABASE_URL"
    defs_yaml.write_text(yaml.safe_dump(declaration, sort_keys=False))
    (root / "sql" / "shop.sql").write_text(SCHEMA)
    (root / "seeds" / "shop").mkdir(parents=True)
    (root / "seeds" / "shop" / "customers.csv").write_text(SEED)

    checked = dg_command("check", "defs", cwd=root, env=env)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr

    launched = dg_command("launch", "--assets", "*", cwd=root, env=env)
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert "RUN_SUCCESS" in launched.stdout + launched.stderr

    assert database.rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' "
        "ORDER BY table_name"
    ) == [("customers",), ("orders",)]
    assert database.value("SELECT to_regclass('shop.idx_orders_customer')::text") == (
        "shop.idx_orders_customer"
    )
    assert database.rows("SELECT id, name FROM shop.customers ORDER BY id") == [
        (1, "Ada"),
        (2, "Grace"),
    ]


def test_this_repository_is_a_dg_project_whose_definitions_check(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    checked = dg_command("check", "defs", cwd=REPO, env=env)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
