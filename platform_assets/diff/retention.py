"""Retention that would drop existing data sooner than before is destructive.

On TimescaleDB the live policy's `drop_after` is in its job's config: a declaration
that shortens it (or a new policy on a table that already holds older rows) would
drop the rows between the two cutoffs at the job's next run, so it is refused with
their count unless the object is allowed destructive changes.

On plain PostgreSQL the platform is the retention job and no earlier setting is
stored: expired partitions are dropped as they expire, and a partition holding
rows that expired more than a grace period ago (a week, or two partition widths)
means the retention was shortened (or upkeep has not run for that long); dropping
it is refused the same way.
"""

from __future__ import annotations

from datetime import timedelta

from psycopg import sql

from platform_assets.live.session import Session
from platform_assets.model.declarations import ContinuousAggregate, HypertableConversion
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.intervals import interval_seconds
from platform_assets.model.objects import ObjectKind, SchemaObject

MIN_GRACE = timedelta(days=7)


def policy_loss(
    session: Session, graph: SchemaGraph, policy: SchemaObject, live: str | None, declared: str
) -> str | None:
    """What a retention policy of `declared` drops that the live one (`live`, None
    when there is no policy) keeps: the rows of the chunks that end before now -
    `declared` but not before now - `live`, counted now."""
    assert policy.relation is not None
    relation = graph.relation(policy.schema, policy.relation)
    column = _retained_time_column(relation, graph) if relation is not None else None
    if column is None:
        return None
    declared = session.value("SELECT %s::text::interval::text", (declared,))
    if live is not None and session.value(
        "SELECT %s::text::interval >= %s::text::interval", (declared, live)
    ):
        return None  # kept as long or longer
    rows = session.value(
        sql.SQL(
            "SELECT count(*) FROM {t} WHERE {c} < (" + _CHUNKS_END + ") "
            "AND {c} >= coalesce((" + _CHUNKS_END.replace("new", "old") + "), '-infinity')"
        ).format(t=sql.Identifier(policy.schema, policy.relation), c=sql.Identifier(column)),
        {"schema": policy.schema, "name": policy.relation, "new": declared, "old": live},
    )
    if not rows:
        return None
    target = f"{policy.schema}.{policy.relation}"
    if live is None:
        return (
            f"a retention policy of {declared} on {target} drops {rows} existing row(s) "
            "(the chunks older than that) at its first run"
        )
    return (
        f"shortening the retention of {target} from {live} to {declared} drops {rows} "
        f"row(s) (the chunks older than {declared}) at the policy's next run"
    )


# The end of the newest chunk wholly older than now - %(new)s: what drop_chunks takes.
# An aggregate's chunks are its materialization hypertable's.
_CHUNKS_END = """
    SELECT max(c.range_end) FROM timescaledb_information.chunks c
    LEFT JOIN timescaledb_information.continuous_aggregates a
      ON a.view_schema = %(schema)s AND a.view_name = %(name)s
    WHERE c.hypertable_schema = coalesce(a.materialization_hypertable_schema, %(schema)s)
      AND c.hypertable_name = coalesce(a.materialization_hypertable_name, %(name)s)
      AND c.range_end <= now() - %(new)s::text::interval
"""


def grace(partition_interval: str) -> timedelta:
    """How long past its retention an expired partition may wait for upkeep."""
    width = timedelta(seconds=interval_seconds(partition_interval))
    return max(MIN_GRACE, 2 * width)


def partition_loss(table: SchemaObject, overdue: dict[str, int]) -> str | None:
    """What dropping partitions long past retention, with rows, would lose."""
    if not overdue:
        return None
    names = ", ".join(sorted(overdue))
    return (
        f"dropping {len(overdue)} partition(s) of {table.qualified_name} that expired "
        f"longer ago than the upkeep grace ({names}) loses {sum(overdue.values())} row(s): "
        "the retention was shortened, or upkeep has not run for that long"
    )


def _retained_time_column(relation: SchemaObject, graph: SchemaGraph) -> str | None:
    """The column retention drops rows by: a hypertable's time column, an aggregate's bucket."""
    if relation.kind == ObjectKind.CONTINUOUS_AGGREGATE:
        bucket = relation.declared(ContinuousAggregate).bucket
        return bucket.alias if bucket else None
    hypertable = graph.attached(relation, ObjectKind.HYPERTABLE)
    if hypertable is None:
        return None
    return hypertable.declared(HypertableConversion).time_column
