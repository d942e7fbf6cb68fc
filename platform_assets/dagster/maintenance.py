"""Partition maintenance and aggregate refreshes on plain PostgreSQL, as jobs and schedules.

`partition_maintenance` has one op per table the platform partitions natively (a
hypertable on plain PostgreSQL, or a table declared `PARTITION BY RANGE` with a
`-- platform:` annotation): it creates the partitions missing up to the premake
horizon, drops those wholly past retention, and reports both as metadata (on the
op and as an observation of the asset). With nothing due it executes no SQL.
`partition_maintenance_schedule` runs it daily. The clock is the `partition_clock`
resource, so a run can be made as of another instant.

Each continuous aggregate has the job `refresh_<schema>__<view>`, the run the health
sensor requests to fix a stale one: REFRESH MATERIALIZED VIEW CONCURRENTLY on plain
PostgreSQL, and on TimescaleDB `CALL run_job` of the aggregate's own refresh policy
(a whole `refresh_continuous_aggregate` when it has none). An aggregate with a
refresh policy also gets a schedule running that job, which on TimescaleDB only
repeats what the policy's own job does. Partition maintenance leaves hypertables to
TimescaleDB.
"""

from datetime import UTC, datetime

import dagster as dg

from platform_assets import settings
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.execute import rollups
from platform_assets.execute.partition_rules import is_range_partitioned
from platform_assets.execute.runner import Runner
from platform_assets.live import catalog
from platform_assets.model.declarations import RefreshPolicy
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.naming import asset_key_part
from platform_assets.model.objects import ObjectKind, SchemaObject

PARTITION_MAINTENANCE_JOB = "partition_maintenance"
PARTITION_MAINTENANCE_SCHEDULE = "partition_maintenance_schedule"


class PartitionClock(dg.ConfigurableResource):
    """The instant partition maintenance runs as: now, unless `now` (ISO 8601) is set."""

    now: str | None = None

    def current(self) -> datetime:
        if not self.now:
            return datetime.now(UTC)
        value = datetime.fromisoformat(self.now)
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class MaintenanceConfig(dg.Config):
    """Config of one table's upkeep op."""

    # Drop partitions long past retention that hold rows (retention was shortened).
    allow_destructive: bool = False


def maintained_tables(graph: SchemaGraph) -> list[SchemaObject]:
    """Tables whose partitions the platform keeps (on plain PostgreSQL, for hypertables)."""
    return [
        obj
        for obj in graph
        if obj.kind == ObjectKind.TABLE
        and (
            graph.attached(obj, ObjectKind.HYPERTABLE) is not None
            or (is_range_partitioned(obj) and "partition_interval" in obj.annotations)
        )
    ]


def build_partition_maintenance(
    graph: SchemaGraph, translator: SchemaTranslator | None = None, pool: str | None = None
) -> tuple[dg.JobDefinition, dg.ScheduleDefinition]:
    translator = translator or SchemaTranslator()
    names = translator.names
    ops = [
        _maintenance_op(graph, table, translator, pool or names(settings.schema_pool()))
        for table in maintained_tables(graph)
    ]

    @dg.job(
        name=names(PARTITION_MAINTENANCE_JOB),
        description="Create partitions up to the premake horizon and drop expired ones, "
        "one op per natively partitioned table.",
    )
    def partition_maintenance() -> None:
        for op in ops:
            op()

    schedule = dg.ScheduleDefinition(
        name=names(PARTITION_MAINTENANCE_SCHEDULE),
        job=partition_maintenance,
        cron_schedule=settings.partition_schedule(),
        execution_timezone="UTC",
        description="Daily: partitions made ahead and expired ones dropped (plain PostgreSQL "
        "hypertables and annotated PARTITION BY RANGE tables).",
    )
    return partition_maintenance, schedule


def _maintenance_op(
    graph: SchemaGraph, table: SchemaObject, translator: SchemaTranslator, pool: str
) -> dg.OpDefinition:
    hypertable = graph.attached(table, ObjectKind.HYPERTABLE)
    reported_on = translator.get_asset_key(hypertable or table)
    names = translator.names

    # The parts as in the table's asset key: any table name makes a valid op name.
    op_name = names(
        "maintain_" + "__".join(asset_key_part(part) for part in (table.schema, table.name))
    )
    allow_hint = (
        f'to allow it, run with config {{"ops": {{"{op_name}": {{"config": '
        '{"allow_destructive": true}}}}'
    )

    @dg.op(
        name=op_name,
        description=f"Partition upkeep of {table.qualified_name}.",
        pool=pool,
        required_resource_keys={names.database, names.partition_clock},
    )
    def maintain(context: dg.OpExecutionContext, config: MaintenanceConfig) -> dg.Output:
        database = names.database_of(context)
        now = names.partition_clock_of(context).current()
        metadata: dict[str, object] = {"now": now.isoformat()}
        allowed = frozenset({table.key}) if config.allow_destructive else frozenset()
        with database.session(log=context.log.info) as session, session.schema_lock():
            engine = Runner(session, graph, allowed).engine
            engine.clock = lambda: now
            try:
                outcome = engine.maintain(table, session, allow_hint)
            except SchemaError as error:
                raise dg.Failure(str(error)) from error
        if outcome.reason:
            metadata["skipped"] = outcome.reason
        else:
            metadata.update(
                partitions_created=outcome.details.get("partitions_created", []),
                partitions_dropped=outcome.details.get("partitions_dropped", []),
                partitions_kept_holding_newer_rows=outcome.details.get(
                    "partitions_kept_holding_newer_rows", []
                ),
                statements_executed=len(outcome.executed),
            )
            if "destructive_changes" in outcome.details:
                metadata["destructive_changes"] = outcome.details["destructive_changes"]
        context.log.info(f"{table.qualified_name}: {metadata}")
        context.log_event(dg.AssetObservation(asset_key=reported_on, metadata=metadata))
        return dg.Output(None, metadata=metadata)

    return maintain


def build_refresh_schedules(
    graph: SchemaGraph, translator: SchemaTranslator | None = None
) -> tuple[list[dg.JobDefinition], list[dg.ScheduleDefinition]]:
    """A refresh job per continuous aggregate (what the health sensor runs to fix one),
    and a schedule for each that has a refresh policy."""
    translator = translator or SchemaTranslator()
    jobs, schedules = [], []
    for aggregate in graph:
        if aggregate.kind != ObjectKind.CONTINUOUS_AGGREGATE:
            continue
        job = _refresh_job(graph, aggregate, translator)
        jobs.append(job)
        policy = graph.attached(aggregate, ObjectKind.REFRESH_POLICY)
        if policy is None:
            continue
        schedules.append(
            dg.ScheduleDefinition(
                name=translator.names(rollups.refresh_schedule_name(aggregate)),
                job=job,
                cron_schedule=rollups.cron_for(policy.declared(RefreshPolicy).schedule_interval),
                execution_timezone="UTC",
                description=f"{aggregate.qualified_name}'s refresh policy on plain PostgreSQL.",
            )
        )
    return jobs, schedules


def _refresh_job(
    graph: SchemaGraph, aggregate: SchemaObject, translator: SchemaTranslator
) -> dg.JobDefinition:
    names = translator.names
    name = names(rollups.refresh_job_name(aggregate))

    @dg.op(
        name=f"{name}_op",
        description=f"Refresh {aggregate.qualified_name} now: CONCURRENTLY on plain PostgreSQL, "
        "its own refresh policy job on TimescaleDB.",
        required_resource_keys={names.database},
    )
    def refresh(context: dg.OpExecutionContext) -> dg.Output:
        with names.database_of(context).session(log=context.log.info) as session:
            try:
                metadata = Runner(session, graph).engine.refresh(aggregate, session)
            except SchemaError as error:
                raise dg.Failure(error.message) from error
            metadata["dagster/row_count"] = catalog.row_count(
                session, aggregate.schema, aggregate.name
            )
        context.log_event(
            dg.AssetObservation(asset_key=translator.get_asset_key(aggregate), metadata=metadata)
        )
        return dg.Output(None, metadata=metadata)

    @dg.job(name=name, description=f"Refresh {aggregate.qualified_name} now.")
    def refresh_job() -> None:
        refresh()

    return refresh_job
