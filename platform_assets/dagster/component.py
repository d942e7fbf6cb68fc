"""The platform as a Dagster component: one instance per database, in a `defs.yaml`.

```yaml
type: platform_assets.SchemaComponent
attributes:
  name: orders                      # before every name the instance defines (optional)
  sql_dir: sql/orders               # relative to the project root
  seeds_dir: seeds/orders
  database_url_env: ORDERS_DATABASE_URL
```

`dg scaffold defs platform_assets.SchemaComponent <path>` writes such a file. The
definitions it builds are the ones `platform_assets.definitions` loads for this
repository: the schema multi-asset with its checks, the verify, maintenance, refresh,
backfill and fix jobs, their schedules, the health sensors and the resources.

A code location holds one instance per database. An instance's `name` goes before its
jobs, schedules, sensors, pool and resource keys (naming.py) and, by default, its asset
keys and groups, so two instances never share a definition; an unnamed instance keeps
the plain names. Two instances that would collide are refused at load, naming both files.
"""

from __future__ import annotations

from typing import Self

import dagster as dg
from dagster.components.core.defs_module import ComponentPath
from pydantic import BaseModel, Field, PrivateAttr

from platform_assets import settings
from platform_assets.dagster.assets import build_schema_assets
from platform_assets.dagster.backfill import build_aggregate_backfill
from platform_assets.dagster.maintenance import (
    PartitionClock,
    build_partition_maintenance,
    build_refresh_schedules,
)
from platform_assets.dagster.naming import InstanceNames
from platform_assets.dagster.resources import SchemaDatabase, database_from_environment
from platform_assets.dagster.schedules import build_verify_schema
from platform_assets.dagster.sensors import build_health_fix_job, build_health_sensors
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.live.embedded import SCHEMA_DATABASE
from platform_assets.model.graph import SchemaGraph
from platform_assets.parse.cache import compile_project, long_lived


def build_platform_definitions(
    graph: SchemaGraph,
    database: SchemaDatabase,
    translator: SchemaTranslator | None = None,
    pool: str | None = None,
) -> dg.Definitions:
    """Everything the platform gives Dagster for one database."""
    translator = translator or SchemaTranslator()
    names = translator.names
    schema_assets = build_schema_assets(graph, translator, pool)
    verify_schema_job, verify_schema_schedule = build_verify_schema(
        dg.AssetSelection.checks(schema_assets), names
    )
    maintenance_job, maintenance_schedule = build_partition_maintenance(graph, translator, pool)
    refresh_jobs, refresh_schedules = build_refresh_schedules(graph, translator)
    backfill_jobs, backfill_schedules = build_aggregate_backfill(graph, translator)
    # The runs the health sensors request: these exact definitions, so the daemon finds them.
    fix_job = build_health_fix_job(graph, translator)
    return dg.Definitions(
        assets=[schema_assets],
        jobs=[verify_schema_job, maintenance_job, fix_job, *refresh_jobs, *backfill_jobs],
        schedules=[
            verify_schema_schedule,
            maintenance_schedule,
            *refresh_schedules,
            *backfill_schedules,
        ],
        sensors=build_health_sensors(graph, translator, fix_job=fix_job, refresh_jobs=refresh_jobs),
        resources={names.database: database, names.partition_clock: PartitionClock()},
        # The schema graph is one step; in-process avoids a process start per step.
        executor=dg.in_process_executor,
    )


class SchemaComponentScaffolder(dg.Scaffolder):
    """`dg scaffold defs platform_assets.SchemaComponent <path>`: a `defs.yaml` naming the
    project's `sql/` and `seeds/`, and an empty `sql/` when the project has none."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        from dagster.components.component_scaffolding import scaffold_component

        scaffold_component(
            request,
            {
                "sql_dir": "sql",
                "seeds_dir": "seeds",
                "database_url_env": settings.DATABASE_URL,
            },
        )
        if request.project_root is not None:
            (request.project_root / "sql").mkdir(exist_ok=True)


@dg.scaffold_with(SchemaComponentScaffolder)
class SchemaComponent(dg.Component, dg.Resolvable, dg.Model):
    """A PostgreSQL/TimescaleDB schema declared as SQL files, owned as Dagster assets.

    One instance per database: its `sql/` and `seeds/`, the environment variable holding
    the database URL (unset: the project's embedded cluster) and the concurrency pool that
    keeps its runs one at a time. Several instances in one code location each take a
    `name`."""

    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_]+$",
        description="The instance's name, put before every name it defines: jobs, "
        "schedules, sensors, the pool and the resource keys (`<name>_verify_schema`, "
        "`<name>_database`), and by default its asset keys (`<name>/...`) and groups "
        "(`<name>_...`). Required when a code location holds more than one instance; an "
        "unnamed instance keeps the plain names.",
    )
    sql_dir: str | None = Field(
        default=None,
        description="The schema's SQL files, relative to the project root "
        "(default: `sql`, under PLATFORM_PROJECT_DIR when that is set).",
    )
    seeds_dir: str | None = Field(
        default=None, description="Seed CSVs, relative to the project root (default: `seeds`)."
    )
    database_url_env: str = Field(
        default=settings.DATABASE_URL,
        description="The environment variable holding the database URL (each instance of a "
        "code location names its own). Unset, the project's embedded cluster: its "
        "`platform` database, or `<name>_platform` for a named instance.",
    )
    pool: str | None = Field(
        default=None,
        description="Dagster concurrency pool of the schema's steps (default: "
        "`platform_schema`, or PLATFORM_SCHEMA_POOL when set, after the instance's name: "
        "`<name>_platform_schema`).",
    )
    key_prefix: list[str] | None = Field(
        default=None,
        description="Put before every asset key (default: `[name]` for a named instance, "
        "else none).",
    )
    group_prefix: str | None = Field(
        default=None,
        description="Put before every group name (default: `<name>_` for a named instance, "
        "else none).",
    )

    # Where the instance is declared (its file, and which document of it), for errors.
    _declared_at: ComponentPath | None = PrivateAttr(default=None)

    @classmethod
    def load(cls, attributes: BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        component = super().load(attributes, context)
        component._declared_at = context.component_path
        return component

    @property
    def names(self) -> InstanceNames:
        return InstanceNames(self.name or "")

    def translator(self) -> SchemaTranslator:
        key_prefix = self.key_prefix
        if key_prefix is None:
            key_prefix = [self.name] if self.name else []
        group_prefix = self.group_prefix
        if group_prefix is None:
            group_prefix = f"{self.name}_" if self.name else ""
        return SchemaTranslator(key_prefix, group_prefix, self.names)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        self._check_apart_from_others(context)
        root = settings.project_dir(default=context.project_root)
        with long_lived():
            graph = compile_project(
                root, root / (self.sql_dir or "sql"), root / (self.seeds_dir or "seeds")
            )
            return build_platform_definitions(
                graph,
                # Unset, a named instance's own database on the embedded cluster.
                database_from_environment(self.database_url_env, self.names(SCHEMA_DATABASE)),
                self.translator(),
                self.pool,
            )

    def _check_apart_from_others(self, context: dg.ComponentLoadContext) -> None:
        """Refuse, naming both files, an instance that would share its definitions' names,
        its asset keys or its database with another instance of the code location (Dagster
        would fail on the merged definitions without saying which files collide)."""
        for other in context.component_tree.get_all_components(SchemaComponent):
            if other is self or (self._declared_at and other._declared_at == self._declared_at):
                continue
            clash = self._clash(other)
            if clash:
                here, there = (_defs_file(c._declared_at, context) for c in (self, other))
                raise dg.DagsterInvalidDefinitionError(
                    f"{here} and {there}: two SchemaComponent instances {clash} (one "
                    "instance per database)"
                )

    def _clash(self, other: SchemaComponent) -> str | None:
        if self.names == other.names:
            named = f"named {self.name!r}" if self.name else "without a `name`"
            return (
                f"{named} would define the same jobs, sensors and resources: give each its "
                "own `name`"
            )
        prefix = self.translator().key_prefix
        if prefix == other.translator().key_prefix:
            under = f"the prefix {'/'.join(prefix)}/" if prefix else "no prefix"
            return (
                f"would put their asset keys under {under}: give each its own `key_prefix` "
                "(unset, a named instance's is its name)"
            )
        if self.database_url_env == other.database_url_env:
            return (
                f"read their database URL from the same variable {self.database_url_env}: "
                "give each its own `database_url_env`"
            )
        return None


def _defs_file(declared_at: ComponentPath | None, context: dg.ComponentLoadContext) -> str:
    """`defs/orders/defs.yaml` (with `[n]` for the n-th document of a file), from the
    project root."""
    if declared_at is None:
        return "an instance declared in Python"
    path = declared_at.file_path
    if path.is_dir():
        path = path / "defs.yaml"
    try:
        shown = path.relative_to(context.project_root).as_posix()
    except ValueError:
        shown = str(path)
    return shown if declared_at.instance_key is None else f"{shown}[{declared_at.instance_key}]"
