"""`aggregate_backfill`: continuous aggregates refreshed one day-window per partition.

The job is partitioned by day (UTC), so refreshing history over a date range is
an ordinary Dagster backfill of it, one window per run, and
`aggregate_backfill_schedule` refreshes yesterday's window every day (a late
row, or a window the refresh policy has already passed). Each window is one
`CALL refresh_continuous_aggregate(view, start, end)` per aggregate, in
dependency order (an aggregate on an aggregate after its source), outside any
transaction as TimescaleDB requires. On plain PostgreSQL a materialized view has
no windows: the run refreshes it whole, CONCURRENTLY.

It is a partitioned job, not partitioned assets, so that `dagster asset
materialize --select '*'` (unpartitioned) keeps working; each refresh is
recorded as an observation of the aggregate's asset, with its window.
"""

import dagster as dg

from platform_assets import settings
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.execute.runner import Runner
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKind


def build_aggregate_backfill(
    graph: SchemaGraph, translator: SchemaTranslator | None = None
) -> tuple[list[dg.JobDefinition], list[dg.ScheduleDefinition]]:
    translator = translator or SchemaTranslator()
    aggregates = [obj for obj in graph if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE]
    if not aggregates:
        return [], []

    names = translator.names

    @dg.op(
        name=names("refresh_aggregate_window"),
        description="Refresh every continuous aggregate over the partition's day.",
        required_resource_keys={names.database},
    )
    def refresh_aggregate_window(context: dg.OpExecutionContext):
        window = context.partition_time_window
        with names.database_of(context).session(log=context.log.info) as session:
            engine = Runner(session, graph).engine
            for aggregate in aggregates:
                try:
                    refreshed = engine.refresh(aggregate, session, (window.start, window.end))
                except SchemaError as error:
                    raise dg.Failure(error.message) from error
                context.log_event(
                    dg.AssetObservation(
                        asset_key=translator.get_asset_key(aggregate),
                        metadata={**refreshed, "partition": context.partition_key},
                    )
                )

    @dg.job(
        name=names("aggregate_backfill"),
        partitions_def=dg.DailyPartitionsDefinition(
            start_date=settings.aggregate_history_start(), timezone="UTC"
        ),
        description="Refresh the continuous aggregates over one day (a partition); back "
        "fill a date range by back filling this job.",
    )
    def aggregate_backfill() -> None:
        refresh_aggregate_window()

    schedule = dg.build_schedule_from_partitioned_job(
        aggregate_backfill,
        name=names("aggregate_backfill_schedule"),
        description="Daily: refresh yesterday's window of every continuous aggregate.",
        hour_of_day=1,
        minute_of_hour=15,
    )
    return [aggregate_backfill], [schedule]
