"""The platform as a Dagster component: one instance per database, in a `defs.yaml`.

```yaml
type: platform_assets.SchemaComponent
attributes:
  sql_dir: sql                      # relative to the project root
  seeds_dir: seeds
  database_url_env: PLATFORM_DATABASE_URL
  pool: platform_schema
  key_prefix: []
  group_prefix: ""
```

`dg scaffold defs platform_assets.SchemaComponent <path>` writes that file. The
definitions it builds are the ones `platform_assets.definitions` loads for this
repository: the schema multi-asset with its checks, the verify, maintenance, refresh,
backfill and fix jobs, their schedules, the health sensors and the resources.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from platform_assets import settings
from platform_assets.dagster.assets import build_schema_assets
from platform_assets.dagster.backfill import build_aggregate_backfill
from platform_assets.dagster.maintenance import (
    PartitionClock,
    build_partition_maintenance,
    build_refresh_schedules,
)
from platform_assets.dagster.resources import SchemaDatabase, database_from_environment
from platform_assets.dagster.schedules import build_verify_schema
from platform_assets.dagster.sensors import build_health_fix_job, build_health_sensors
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.model.graph import SchemaGraph
from platform_assets.parse.cache import compile_project
from platform_assets.parse.compiler import compile_directory


def build_platform_definitions(
    graph: SchemaGraph,
    database: SchemaDatabase,
    translator: SchemaTranslator | None = None,
    pool: str | None = None,
) -> dg.Definitions:
    """Everything the platform gives Dagster for one database."""
    translator = translator or SchemaTranslator()
    verify_schema_job, verify_schema_schedule = build_verify_schema()
    maintenance_job, maintenance_schedule = build_partition_maintenance(graph, translator, pool)
    refresh_jobs, refresh_schedules = build_refresh_schedules(graph, translator)
    backfill_jobs, backfill_schedules = build_aggregate_backfill(graph, translator)
    # The runs the health sensors request: these exact definitions, so the daemon finds them.
    fix_job = build_health_fix_job(graph, translator)
    return dg.Definitions(
        assets=[build_schema_assets(graph, translator, pool)],
        jobs=[verify_schema_job, maintenance_job, fix_job, *refresh_jobs, *backfill_jobs],
        schedules=[
            verify_schema_schedule,
            maintenance_schedule,
            *refresh_schedules,
            *backfill_schedules,
        ],
        sensors=build_health_sensors(graph, translator, fix_job=fix_job, refresh_jobs=refresh_jobs),
        resources={"database": database, "partition_clock": PartitionClock()},
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
                "pool": settings.schema_pool(),
            },
        )
        if request.project_root is not None:
            (request.project_root / "sql").mkdir(exist_ok=True)


@dg.scaffold_with(SchemaComponentScaffolder)
class SchemaComponent(dg.Component, dg.Resolvable, dg.Model):
    """A PostgreSQL/TimescaleDB schema declared as SQL files, owned as Dagster assets.

    One instance per database: its `sql/` and `seeds/`, the environment variable holding
    the database URL (unset: the project's embedded cluster) and the concurrency pool that
    keeps its runs one at a time."""

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
        description="The environment variable holding the database URL.",
    )
    pool: str | None = Field(
        default=None,
        description="Dagster concurrency pool of the schema's steps "
        "(default: PLATFORM_SCHEMA_POOL, else `platform_schema`).",
    )
    key_prefix: list[str] = Field(default_factory=list, description="Put before every asset key.")
    group_prefix: str = Field(default="", description="Put before every group name.")

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        root = settings.project_dir(default=context.project_root)
        sql_dir = root / (self.sql_dir or "sql")
        seeds_dir = root / (self.seeds_dir or "seeds")
        if (sql_dir, seeds_dir) == (root / "sql", root / "seeds"):
            # The project's own layout: parsed once per change, not once per process.
            graph = compile_project(root)
        else:
            graph = compile_directory(sql_dir, root, seeds_dir)
        return build_platform_definitions(
            graph,
            database_from_environment(self.database_url_env),
            SchemaTranslator(self.key_prefix, self.group_prefix),
            self.pool,
        )
