"""The component in a team's own dg project: scaffolded with `dg scaffold defs`, pointed at a
small `sql/`, checked with `dg check defs` and run with `dg launch --assets '*'`; and a
project with two databases, one named instance each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import yaml

from platform_assets.live.session import Session
from tests.support.databases import empty_database
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


def dg_command(
    *args: str, cwd: Path, env: dict[str, str], timeout: float | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DG, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )


def dg_env(root: Path, dagster_home: Path, **variables: str) -> dict[str, str]:
    dagster_home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        # What installing the project into its environment would give: its package importable.
        "PYTHONPATH": str(root / "src"),
        **variables,
    }


def scaffold_instance(root: Path, package: Path, path: str, env: dict[str, str], **attributes):
    """`dg scaffold defs platform_assets.SchemaComponent <path>`, then `attributes` set in
    the defs.yaml it wrote."""
    scaffolded = dg_command(
        "scaffold", "defs", "platform_assets.SchemaComponent", path, cwd=root, env=env
    )
    assert scaffolded.returncode == 0, scaffolded.stderr[-3000:]
    defs_yaml = package / "defs" / path / "defs.yaml"
    declaration = yaml.safe_load(defs_yaml.read_text())
    assert declaration["type"] == "platform_assets.SchemaComponent"
    declaration["attributes"].update(attributes)
    defs_yaml.write_text(yaml.safe_dump(declaration, sort_keys=False))


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


# Two databases that both have a `public.users`, each with a schema of its own.
ORDERS_SCHEMA = """\
CREATE SCHEMA shop;
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);
"""
METRICS_SCHEMA = """\
CREATE SCHEMA stats;
CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);
-- platform: partition_interval="1 day" premake=2
CREATE TABLE stats.samples (taken_at timestamptz NOT NULL, value double precision)
    PARTITION BY RANGE (taken_at);
"""
ORDERS_USERS = "id,email\n1,ada@example.com\n"


def tables(database) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in database.rows(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        )
    ]


def test_two_instances_in_one_project_keep_to_their_own_databases(database, tmp_path):
    root = tmp_path / "team-shop"
    package = new_dg_project(root)
    with empty_database(database.cluster, f"{database.name}_metrics") as metrics:
        orders = database
        env = dg_env(
            root,
            tmp_path / "dagster_home",
            ORDERS_DATABASE_URL=orders.url,
            METRICS_DATABASE_URL=metrics.url,
        )
        for name in ("orders", "metrics"):
            scaffold_instance(
                root,
                package,
                name,
                env,
                name=name,
                sql_dir=f"sql/{name}",
                seeds_dir=f"seeds/{name}",
                database_url_env=f"{name.upper()}_DATABASE_URL",
            )
            (root / "sql" / name).mkdir()
        (root / "sql" / "orders" / "schema.sql").write_text(ORDERS_SCHEMA)
        (root / "sql" / "metrics" / "schema.sql").write_text(METRICS_SCHEMA)
        (root / "seeds" / "orders" / "public").mkdir(parents=True)
        (root / "seeds" / "orders" / "public" / "users.csv").write_text(ORDERS_USERS)

        checked = dg_command("check", "defs", cwd=root, env=env)
        assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]

        listed = dg_command("list", "defs", "--json", cwd=root, env=env)
        assert listed.returncode == 0, listed.stderr[-3000:]
        defs = json.loads(listed.stdout)
        assets = {asset["asset_key"] for asset in defs["assets"]}
        assert {"orders/public/users", "metrics/public/users"} <= assets
        assert {asset["group_name"] for asset in defs["assets"]} == {
            "orders_public",
            "orders_shop",
            "metrics_public",
            "metrics_stats",
        }
        jobs = {job["name"] for job in defs["jobs"]}
        sensors = {sensor["name"] for sensor in defs["sensors"]}
        schedules = {schedule["name"] for schedule in defs["schedules"]}
        resources = {resource["name"] for resource in defs["resources"]}
        for name in ("orders", "metrics"):
            assert {
                f"{name}_verify_schema",
                f"{name}_partition_maintenance",
                f"{name}_health_fix",
            } <= jobs
            assert {f"{name}_chunk_health_sensor", f"{name}_aggregate_health_sensor"} <= sensors
            assert {
                f"{name}_verify_schema_schedule",
                f"{name}_partition_maintenance_schedule",
            } <= schedules
            assert {f"{name}_database", f"{name}_partition_clock"} <= resources
            # Each definition comes from its own instance's file.
            declared_in = f"src/team_warehouse/defs/{name}/defs.yaml:1"
            for kind in ("jobs", "sensors", "schedules"):
                for definition in defs[kind]:
                    if definition["name"].startswith(f"{name}_"):
                        assert definition["source"] == declared_in, definition

        launched = dg_command("launch", "--assets", "*", cwd=root, env=env)
        assert launched.returncode == 0, launched.stderr[-3000:]
        assert "RUN_SUCCESS" in launched.stdout + launched.stderr
        assert tables(orders) == ["public.users", "shop.orders"]
        assert [t for t in tables(metrics) if not t.startswith("stats.samples_p")] == [
            "public.users",
            "stats.samples",
        ]
        assert orders.rows("SELECT id, email FROM users") == [(1, "ada@example.com")]
        assert metrics.value("SELECT count(*) FROM users") == 0

        # One instance's job changes only its database, and takes only its database's
        # schema lock: the other's, held here, does not hold it up.
        for db in (orders, metrics):
            db.rows("DROP TABLE users")
        with psycopg.connect(metrics.url, autocommit=True) as conn, Session(conn).schema_lock():
            fixed = dg_command(
                "launch", "--job", "orders_health_fix", cwd=root, env=env, timeout=300
            )
        assert fixed.returncode == 0, fixed.stderr[-3000:]
        assert "waiting for the schema lock" not in fixed.stdout + fixed.stderr
        assert tables(orders) == ["public.users", "shop.orders"]
        assert "public.users" not in tables(metrics)


def test_two_unnamed_instances_are_refused_naming_both_files(tmp_path):
    root = tmp_path / "team-shop"
    package = new_dg_project(root)
    env = dg_env(root, tmp_path / "dagster_home")
    for name in ("orders", "metrics"):
        scaffold_instance(root, package, name, env, database_url_env=f"{name.upper()}_URL")

    checked = dg_command("check", "defs", cwd=root, env=env)
    output = checked.stdout + checked.stderr
    assert checked.returncode != 0
    assert "src/team_warehouse/defs/orders/defs.yaml" in output
    assert "src/team_warehouse/defs/metrics/defs.yaml" in output
    assert "without a `name`" in output
