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
from psycopg import sql

from platform_assets import settings
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.diff import retention
from platform_assets.execute import partitions, rollups
from platform_assets.execute.engines import select_engine
from platform_assets.execute.partition_rules import is_range_partitioned
from platform_assets.live import catalog
from platform_assets.live import timescale_catalog as tc
from platform_assets.live.session import Session
from platform_assets.model.declarations import RefreshPolicy
from platform_assets.model.graph import SchemaGraph
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
    ops = [
        _maintenance_op(graph, table, translator, pool or settings.schema_pool())
        for table in maintained_tables(graph)
    ]

    @dg.job(
        name=PARTITION_MAINTENANCE_JOB,
        description="Create partitions up to the premake horizon and drop expired ones, "
        "one op per natively partitioned table.",
    )
    def partition_maintenance() -> None:
        for op in ops:
            op()

    schedule = dg.ScheduleDefinition(
        name=PARTITION_MAINTENANCE_SCHEDULE,
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

    op_name = f"maintain_{table.schema}__{table.name}"

    @dg.op(
        name=op_name,
        description=f"Partition upkeep of {table.qualified_name}.",
        pool=pool,
    )
    def maintain(
        context: dg.OpExecutionContext,
        database: SchemaDatabase,
        partition_clock: PartitionClock,
        config: MaintenanceConfig,
    ) -> dg.Output:
        now = partition_clock.current()
        metadata: dict[str, object] = {"now": now.isoformat()}
        with database.session(log=context.log.info) as session, session.schema_lock():
            engine = select_engine(session, graph)
            if hypertable is not None and engine.native_hypertables:
                metadata["skipped"] = "TimescaleDB keeps this hypertable's chunks itself"
            elif partitions.partition_key(session, table.schema, table.name) is None:
                metadata["skipped"] = "not partitioned on the server: materialize it first"
            else:
                with session.transaction(table.definition.search_path):
                    upkeep = partitions.plan(session, table, graph, now)
                    loss = retention.partition_loss(table, upkeep.overdue)
                    if loss and not config.allow_destructive:
                        raise dg.Failure(
                            f"{table.location}: {table.describe()}: refused: {loss}; to allow "
                            f'it, run with config {{"ops": {{"{op_name}": {{"config": '
                            '{"allow_destructive": true}}}}'
                        )
                    partitions.apply(session, table, upkeep)
                executed = session.take_executed()
                metadata.update(
                    partitions_created=[name for name, _, _ in upkeep.create],
                    partitions_dropped=upkeep.drop,
                    partitions_kept_holding_newer_rows=upkeep.kept,
                    statements_executed=len(executed),
                )
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
                name=rollups.refresh_schedule_name(aggregate),
                job=job,
                cron_schedule=rollups.cron_for(policy.declared(RefreshPolicy).schedule_interval),
                execution_timezone="UTC",
                description=f"{aggregate.qualified_name}'s refresh policy on plain PostgreSQL.",
            )
        )
    return jobs, schedules


_REFRESH_POLICY_JOB = """
SELECT j.job_id FROM timescaledb_information.jobs j
JOIN timescaledb_information.continuous_aggregates ca
  ON ca.materialization_hypertable_schema = j.hypertable_schema
 AND ca.materialization_hypertable_name = j.hypertable_name
WHERE j.proc_name = 'policy_refresh_continuous_aggregate'
  AND ca.view_schema = %s AND ca.view_name = %s
ORDER BY j.job_id LIMIT 1
"""


def _refresh_job(
    graph: SchemaGraph, aggregate: SchemaObject, translator: SchemaTranslator
) -> dg.JobDefinition:
    name = rollups.refresh_job_name(aggregate)

    @dg.op(
        name=f"{name}_op",
        description=f"Refresh {aggregate.qualified_name} now: CONCURRENTLY on plain PostgreSQL, "
        "its own refresh policy job on TimescaleDB.",
    )
    def refresh(context: dg.OpExecutionContext, database: SchemaDatabase) -> dg.Output:
        metadata: dict[str, object] = {}
        with database.session(log=context.log.info) as session:
            engine = select_engine(session, graph)
            if engine.native_hypertables:
                metadata.update(_refresh_timescale(session, aggregate))
            elif catalog.relkind(session, aggregate.schema, aggregate.name) != "m":
                raise dg.Failure(f"{aggregate.qualified_name} is not materialized yet")
            else:
                session.execute(rollups.refresh_sql(aggregate))
                metadata["refreshed"] = "concurrently"
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


def _refresh_timescale(session: Session, aggregate: SchemaObject) -> dict[str, object]:
    """Run the aggregate's refresh policy job now (its window, its settings), or refresh
    it whole when it has no policy. Autocommit: neither may run in a transaction."""
    if not tc.is_continuous_aggregate(session, aggregate.schema, aggregate.name):
        raise dg.Failure(f"{aggregate.qualified_name} is not a continuous aggregate yet")
    job_id = session.value(_REFRESH_POLICY_JOB, (aggregate.schema, aggregate.name))
    if job_id is not None:
        session.execute("CALL run_job(%s)", (job_id,))
        return {"refreshed": f"CALL run_job({job_id}) (its refresh policy)", "job_id": job_id}
    session.execute(
        sql.SQL("CALL refresh_continuous_aggregate({}, NULL, NULL)").format(
            sql.Literal(tc.qualified(session, aggregate.schema, aggregate.name))
        )
    )
    return {"refreshed": "whole aggregate (no refresh policy)"}
