"""`aggregate_health`: watermark lag against the refresh policy, and a spot check of the last
complete bucket against the raw rows, for continuous aggregates and their materialized views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import psycopg
from psycopg import sql
from sqlglot import exp

from platform_assets.execute import rollups
from platform_assets.health.findings import AGGREGATE_HEALTH, Finding, of_kind
from platform_assets.live.session import Session
from platform_assets.model.declarations import ContinuousAggregate, RefreshPolicy, TimeBucket
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKind, SchemaObject
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import name_identifier

_WATERMARKS = """
SELECT ca.view_schema AS schema, ca.view_name AS name,
       -- An aggregate never refreshed has the lowest watermark TimescaleDB knows,
       -- before year 1, which clients cannot represent.
       CASE WHEN x.w < '0001-01-01' THEN NULL ELSE x.w END AS watermark
FROM timescaledb_information.continuous_aggregates ca
JOIN _timescaledb_catalog.hypertable h
  ON h.schema_name = ca.materialization_hypertable_schema
 AND h.table_name = ca.materialization_hypertable_name
CROSS JOIN LATERAL (
    SELECT _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(h.id)) AS w
) x
"""

_MATERIALIZED_VIEWS = (
    "SELECT schemaname AS schema, matviewname AS name, ispopulated FROM pg_matviews"
)

# What a refresh policy promises as of now. `complete_before`: a bucket that ended by
# then was complete (end_offset passed) at the last refresh the schedule should have
# made. `window_start`: TimescaleDB's policy never refreshes rows older than it.
_LIMITS = """
SELECT %(end)s::interval + %(every)s::interval + %(width)s::interval AS allowed,
       %(now)s::timestamptz - %(start)s::interval AS window_start,
       coalesce(%(now)s::timestamptz - %(end)s::interval - %(every)s::interval, %(now)s)
           AS complete_before
"""

PENDING_CAP = 10_000  # source rows counted at most, per aggregate and tick


@dataclass
class Materialized:
    """How far an aggregate is materialized, and the bucket to spot check."""

    watermark: datetime | None  # end of the newest materialized bucket
    spot_start: datetime | None = None  # the last complete bucket below the watermark
    spot_end: datetime | None = None


@dataclass
class RefreshLimits:
    allowed: timedelta | None  # end_offset + schedule_interval + one bucket
    window_start: datetime | None
    complete_before: datetime


def aggregate_findings(
    session: Session,
    graph: SchemaGraph,
    now: datetime,
    *,
    timescale: bool,
    spot_check: bool = True,
) -> list[Finding]:
    """`aggregate_health` of every declared continuous aggregate, on either engine.

    The watermark is TimescaleDB's (one query for all aggregates) or, for a
    materialized view, the end of its newest bucket (one query per view). It is a
    problem only when the source has rows at or after the watermark older than now -
    (end_offset + schedule_interval + one bucket): rows the schedule should already
    have aggregated; a quiet source is not stale. The last complete bucket is
    compared with the same aggregation over the raw table. At most four queries per
    aggregate, however many chunks or partitions."""
    if timescale:
        live = {(r["schema"], r["name"]): r["watermark"] for r in session.rows(_WATERMARKS)}
    else:
        live = {
            (r["schema"], r["name"]): r["ispopulated"] for r in session.rows(_MATERIALIZED_VIEWS)
        }
    findings = []
    for obj in of_kind(graph, ObjectKind.CONTINUOUS_AGGREGATE):
        if (obj.schema, obj.name) not in live:
            what = "continuous aggregate" if timescale else "materialized view"
            findings.append(
                Finding(obj.key, AGGREGATE_HEALTH, [f"no {what} on the server"], fix=obj.key)
            )
            continue
        bucket = obj.declared(ContinuousAggregate).bucket
        if bucket is None:
            reason = "no time_bucket in its query: no watermark to measure"
            findings.append(Finding(obj.key, AGGREGATE_HEALTH, [], {"reason": reason}))
            continue
        policy = graph.attached(obj, ObjectKind.REFRESH_POLICY)
        limits = _refresh_limits(session, policy, bucket, now, windowed=timescale)
        if timescale:
            query = obj.definition.tree.expression
            materialized = _timescale_materialized(session, bucket, live[(obj.schema, obj.name)])
        else:
            query = rollups.translated_query(obj, graph)
            materialized = (
                _view_materialized(session, obj, bucket, limits.complete_before)
                if live[(obj.schema, obj.name)]
                else Materialized(None)  # created WITH NO DATA
            )
        findings.append(
            _aggregate_finding(session, obj, bucket, query, materialized, limits, now, spot_check)
        )
    return findings


def _refresh_limits(
    session: Session,
    policy: SchemaObject | None,
    bucket: TimeBucket,
    now: datetime,
    windowed: bool,
) -> RefreshLimits:
    """No policy, no schedule: nothing is allowed or pending, buckets ended by now are complete."""
    refresh = policy.declared(RefreshPolicy) if policy is not None else None
    start = refresh.start_offset if refresh is not None and windowed else None
    row = session.rows(
        _LIMITS,
        {
            "now": now,
            "end": str(refresh.end_offset or "0") if refresh is not None else None,
            "every": str(refresh.schedule_interval or "1 hour") if refresh is not None else None,
            "width": bucket.width,
            "start": str(start) if start else None,
        },
    )[0]
    return RefreshLimits(row["allowed"], row["window_start"], row["complete_before"])


def _timescale_materialized(
    session: Session, bucket: TimeBucket, watermark: datetime | None
) -> Materialized:
    """TimescaleDB materializes whole buckets up to the watermark."""
    if watermark is None:
        return Materialized(None)
    start = session.value(
        "SELECT %(w)s::timestamptz - %(width)s::interval", {"w": watermark, "width": bucket.width}
    )
    return Materialized(watermark, start, watermark)


def _view_materialized(
    session: Session, aggregate: SchemaObject, bucket: TimeBucket, complete_before: datetime
) -> Materialized:
    """A materialized view's watermark (end of its newest bucket) and its newest bucket
    already complete at the last scheduled refresh, in one query."""
    row = session.rows(
        sql.SQL(
            "SELECT max({b}) + {w}::interval AS watermark, "
            "max({b}) FILTER (WHERE {b} + {w}::interval <= %(complete)s) AS spot, "
            "max({b}) FILTER (WHERE {b} + {w}::interval <= %(complete)s) + {w}::interval "
            "AS spot_end FROM {view}"
        ).format(
            b=sql.Identifier(bucket.alias),
            w=sql.Literal(bucket.width),
            view=sql.Identifier(aggregate.schema, aggregate.name),
        ),
        # As text, so the server reads it as the bucket's own type (a timestamp
        # without time zone takes it as UTC, the way the platform writes one).
        {"complete": _utc_text(complete_before)},
    )[0]
    return Materialized(_aware(row["watermark"]), _aware(row["spot"]), _aware(row["spot_end"]))


def _aggregate_finding(
    session: Session,
    aggregate: SchemaObject,
    bucket: TimeBucket,
    query: exp.Select,
    materialized: Materialized,
    limits: RefreshLimits,
    now: datetime,
    spot_check: bool,
) -> Finding:
    """Staleness against the refresh schedule and the spot check, the same on both engines."""
    watermark = materialized.watermark
    problems: list[str] = []
    metadata: dict[str, object] = {"watermark": watermark.isoformat() if watermark else ""}
    if watermark is not None:
        # A materialized view's newest bucket may end after now: no lag then.
        metadata["lag"] = str(_seconds(max(now - watermark, timedelta(0))))
    if limits.allowed is not None:
        metadata["allowed_lag"] = str(limits.allowed)
        cutoff = now - limits.allowed
        since = max((t for t in (watermark, limits.window_start) if t is not None), default=None)
        pending = 0
        if since is None or since < cutoff:  # else no row can be pending: skip the query
            pending = _pending_rows(session, aggregate, bucket, query, since, cutoff)
        metadata["pending_rows"] = pending
        count = f"{pending}{'+' if pending >= PENDING_CAP else ''} source row(s)"
        if pending and watermark is None:
            problems.append(
                f"never refreshed, though {count} are older than now - {limits.allowed}"
            )
        elif pending:
            problems.append(
                f"lag {metadata['lag']} exceeds the refresh policy's {limits.allowed}: "
                f"{count} at or after the watermark are older than now - {limits.allowed}"
            )
    if spot_check and materialized.spot_start is not None and materialized.spot_end is not None:
        start = materialized.spot_start
        try:
            differing = _spot_check(session, aggregate, bucket, query, start, materialized.spot_end)
        except psycopg.Error as error:  # the live aggregate is not the declared one
            first_line = str(error).strip().splitlines()[0]
            problems.append(f"cannot compare with the declared query: {first_line}")
            differing = 0
        metadata["spot_checked_bucket"] = start.isoformat()
        if differing:
            problems.append(
                f"bucket {start:%Y-%m-%d %H:%M} differs from the raw table "
                f"({differing} row(s) differ)"
            )
    fix_job = rollups.refresh_job_name(aggregate) if problems else None
    return Finding(aggregate.key, AGGREGATE_HEALTH, problems, metadata, fix_job=fix_job)


def _pending_rows(
    session: Session,
    aggregate: SchemaObject,
    bucket: TimeBucket,
    query: exp.Select,
    since: datetime | None,
    before: datetime,
) -> int:
    """Source rows (the aggregate's own FROM, joins and WHERE) from `since` to before
    `before`, counted up to PENDING_CAP."""
    probe = query.copy()
    probe.set("group", None)
    probe.set("having", None)
    column = bucket.column
    window = column.copy() < _time_literal(before)
    if since is not None:
        window = exp.and_(column.copy() >= _time_literal(since), window)
    probe = probe.select(exp.Literal.number(1), append=False).where(window, append=True)
    counted = exp.select(exp.Count(this=exp.Star())).from_(
        probe.limit(PENDING_CAP).subquery("pending")
    )
    with session.transaction(aggregate.definition.search_path):
        return session.value(counted.sql(DIALECT))


def _spot_check(
    session: Session,
    aggregate: SchemaObject,
    bucket: TimeBucket,
    query: exp.Select,
    start: datetime,
    end: datetime,
) -> int:
    """Rows that differ, in the bucket [start, end), between the aggregate and its query
    run afresh over the raw rows of that bucket only."""
    column = bucket.column
    fresh_query = query.copy().where(
        exp.and_(column.copy() >= _time_literal(start), column.copy() < _time_literal(end)),
        append=True,
    )
    fresh = exp.select("*").from_(fresh_query.subquery("fresh"))
    stored = (
        exp.select("*")
        .from_(exp.table_(name_identifier(aggregate.name), name_identifier(aggregate.schema)))
        .where(exp.column(name_identifier(bucket.alias)).eq(_time_literal(start)))
    )

    def rows_only_in(left: exp.Select, right: exp.Select) -> exp.Expression:
        only = exp.except_(left.copy(), right.copy()).subquery("unmatched")
        return exp.select(exp.Count(this=exp.Star())).from_(only).subquery()

    differing = exp.select(
        exp.Add(this=rows_only_in(fresh, stored), expression=rows_only_in(stored, fresh))
    )
    with session.transaction(aggregate.definition.search_path):
        return session.value(differing.sql(DIALECT))


def _time_literal(value: datetime) -> exp.Literal:
    """An instant as an untyped literal: the server reads it as the compared column's
    type (a timestamp without time zone as UTC)."""
    return exp.Literal.string(_utc_text(value))


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(sep=" ")


def _aware(value: date | None) -> datetime | None:
    """A bucket time as an aware datetime (a date or timestamp without time zone is UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _seconds(value: timedelta) -> timedelta:
    return timedelta(seconds=round(value.total_seconds()))
