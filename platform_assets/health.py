"""What the health sensors observe: chunks, partitions, policy jobs and aggregates.

Every function here costs a fixed number of catalog queries however many chunks or
partitions there are (one query returns all of them, aggregated by the server; a few
per aggregate for its watermark, pending rows and spot check), and
returns one `Finding` per declared object it concerns, healthy or not, so a sensor
tick reports every object it looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp

from platform_assets import catalog, rollups
from platform_assets.compiler import SchemaGraph
from platform_assets.dialect import DIALECT
from platform_assets.objects import ObjectKey, ObjectKind, SchemaObject
from platform_assets.partition_rules import hypertable_settings
from platform_assets.rollups import interval_text
from platform_assets.session import Session

CHUNK_HEALTH = "chunk_health"
JOB_HEALTH = "job_health"
AGGREGATE_HEALTH = "aggregate_health"

# A chunk this many times the median of its hypertable's uncompressed chunks (and
# past the size below) is an anomaly: usually a wrong chunk interval or a bulk load.
SIZE_FACTOR = 10
SIZE_FLOOR = 64 * 1024 * 1024
EXAMPLES = 10  # offending chunks named in metadata, per problem

POLICY_PROCS = {
    "policy_compression": ObjectKind.COMPRESSION_POLICY,
    "policy_retention": ObjectKind.RETENTION_POLICY,
    "policy_reorder": ObjectKind.REORDER_POLICY,
    "policy_refresh_continuous_aggregate": ObjectKind.REFRESH_POLICY,
}


@dataclass
class Finding:
    """One check evaluation on one declared object."""

    key: ObjectKey
    check: str
    problems: list[str]
    metadata: dict[str, object] = field(default_factory=dict)
    # The object whose materialization fixes the problem, when the fix is mechanical.
    fix: ObjectKey | None = None
    # Or the job whose run fixes it (an aggregate's refresh).
    fix_job: str | None = None

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def description(self) -> str:
        if self.problems:
            return "; ".join(self.problems)
        return str(self.metadata.get("reason", "healthy"))

    @property
    def dagster_metadata(self) -> dict[str, object]:
        return {"problems": dg.MetadataValue.json(self.problems), **self.metadata}


def timescale_installed(session: Session) -> bool:
    return catalog.extension_version(session, "timescaledb") is not None


# ---------------------------------------------------------------- chunks (TimescaleDB)

_CHUNKS = """
WITH policy AS (
    SELECT hypertable_schema, hypertable_name,
           max(config->>'compress_after') FILTER (
               WHERE proc_name = 'policy_compression'
                 AND jsonb_typeof(config->'compress_after') = 'string') AS compress_after,
           max(config->>'drop_after') FILTER (
               WHERE proc_name = 'policy_retention'
                 AND jsonb_typeof(config->'drop_after') = 'string') AS drop_after
    FROM timescaledb_information.jobs
    WHERE hypertable_name IS NOT NULL
    GROUP BY 1, 2
), chunk AS MATERIALIZED (
    -- Sizes from pg_class (as of the last VACUUM/ANALYZE): one catalog read for all
    -- chunks, where a size function per chunk would stat every file.
    SELECT c.hypertable_schema, c.hypertable_name, c.chunk_name, c.range_start, c.range_end,
           c.is_compressed, cl.relpages::bigint * current_setting('block_size')::bigint AS bytes
    FROM timescaledb_information.chunks c
    JOIN pg_namespace n ON n.nspname = c.chunk_schema
    JOIN pg_class cl ON cl.relnamespace = n.oid AND cl.relname = c.chunk_name
    WHERE c.range_start IS NOT NULL
), per_table AS (
    SELECT hypertable_schema, hypertable_name,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY bytes) FILTER (WHERE NOT is_compressed)
               AS median_bytes
    FROM chunk GROUP BY 1, 2
), marked AS (
    SELECT ch.*,
           NOT ch.is_compressed AND ch.range_end < %(now)s - p.compress_after::interval
               AS uncompressed,
           ch.range_end < %(now)s - p.drop_after::interval AS expired,
           ch.range_start > %(now)s AS future,
           NOT ch.is_compressed AND ch.bytes > %(size_floor)s
               AND ch.bytes > t.median_bytes * %(size_factor)s AS oversized,
           p.drop_after::interval AS drop_after
    FROM chunk ch
    JOIN per_table t USING (hypertable_schema, hypertable_name)
    LEFT JOIN policy p USING (hypertable_schema, hypertable_name)
)
SELECT h.hypertable_schema AS schema, h.hypertable_name AS name,
       count(m.chunk_name) AS chunks,
       coalesce(sum(m.bytes), 0) AS bytes,
       min(d.time_interval)::text AS chunk_interval,
       count(*) FILTER (WHERE m.uncompressed) AS uncompressed_count,
       (array_agg(m.chunk_name ORDER BY m.range_start) FILTER (WHERE m.uncompressed))
           [1:%(examples)s] AS uncompressed,
       count(*) FILTER (WHERE m.expired) AS expired_count,
       (array_agg(m.chunk_name ORDER BY m.range_start) FILTER (WHERE m.expired))
           [1:%(examples)s] AS expired,
       (array_agg(m.chunk_name ORDER BY m.range_start) FILTER (WHERE m.future))
           [1:%(examples)s] AS future,
       (array_agg(m.chunk_name ORDER BY m.bytes DESC) FILTER (WHERE m.oversized))
           [1:%(examples)s] AS oversized,
       CASE WHEN min(d.time_interval) IS NOT NULL AND min(m.drop_after) IS NOT NULL
            THEN ceil(extract(epoch FROM min(m.drop_after))
                      / extract(epoch FROM min(d.time_interval))) END AS expected_chunks
FROM timescaledb_information.hypertables h
LEFT JOIN marked m USING (hypertable_schema, hypertable_name)
LEFT JOIN timescaledb_information.dimensions d
    ON d.hypertable_schema = h.hypertable_schema AND d.hypertable_name = h.hypertable_name
   AND d.dimension_number = 1
GROUP BY 1, 2
"""


def timescale_chunk_findings(session: Session, graph: SchemaGraph, now: datetime) -> list[Finding]:
    """`chunk_health` of every declared hypertable, from one query over all chunks."""
    rows = {
        (r["schema"], r["name"]): r
        for r in session.rows(
            _CHUNKS,
            {
                "now": now,
                "examples": EXAMPLES,
                "size_floor": SIZE_FLOOR,
                "size_factor": SIZE_FACTOR,
            },
        )
    }
    findings = []
    for obj in _of_kind(graph, ObjectKind.HYPERTABLE):
        row = rows.get((obj.schema, obj.relation))
        if row is None:
            findings.append(
                Finding(obj.key, CHUNK_HEALTH, ["not a hypertable on the server"], fix=obj.key)
            )
            continue
        problems = []
        if row["uncompressed_count"]:
            problems.append(
                f"{row['uncompressed_count']} chunk(s) older than compress_after are not compressed"
            )
        if row["expired_count"]:
            problems.append(f"{row['expired_count']} chunk(s) past drop_after are still present")
        if row["future"]:
            problems.append(f"{len(row['future'])} chunk(s) hold rows in the future")
        if row["oversized"]:
            problems.append(
                f"{len(row['oversized'])} chunk(s) over {SIZE_FACTOR}x the median chunk size"
            )
        expected = row["expected_chunks"]
        if expected is not None and row["chunks"] > 2 * expected + 2:
            problems.append(f"{row['chunks']} chunks where retention keeps about {int(expected)}")
        metadata = {
            "chunks": row["chunks"],
            "total_bytes": int(row["bytes"]),
            "chunk_interval": row["chunk_interval"],
            **{
                f"{name}_chunks": row[name]
                for name in ("uncompressed", "expired", "future", "oversized")
                if row[name]
            },
        }
        findings.append(Finding(obj.key, CHUNK_HEALTH, problems, metadata))
    return findings


_JOBS = """
SELECT j.job_id, j.proc_name, j.scheduled, j.schedule_interval::text AS schedule_interval,
       coalesce(ca.view_schema, j.hypertable_schema) AS schema,
       coalesce(ca.view_name, j.hypertable_name) AS relation,
       s.last_run_status, s.total_failures,
       s.next_start::text AS next_start,
       isfinite(s.next_start) AND s.next_start < %(now)s - j.schedule_interval AS overdue,
       e.err_message AS last_error
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.continuous_aggregates ca
    ON ca.materialization_hypertable_schema = j.hypertable_schema
   AND ca.materialization_hypertable_name = j.hypertable_name
LEFT JOIN timescaledb_information.job_stats s USING (job_id)
LEFT JOIN LATERAL (
    SELECT err_message FROM timescaledb_information.job_errors je
    WHERE je.job_id = j.job_id ORDER BY je.finish_time DESC LIMIT 1
) e ON true
WHERE j.proc_name = ANY(%(procs)s)
"""


def timescale_job_findings(session: Session, graph: SchemaGraph, now: datetime) -> list[Finding]:
    """`job_health` of every declared policy: missing, paused, failing or overdue jobs."""
    jobs: dict[ObjectKey, list[dict]] = {}
    for row in session.rows(_JOBS, {"now": now, "procs": list(POLICY_PROCS)}):
        kind = POLICY_PROCS[row["proc_name"]]
        jobs.setdefault((row["schema"], row["relation"], kind.value), []).append(row)
    findings = []
    for obj in graph:
        if obj.kind not in POLICY_PROCS.values():
            continue
        found = jobs.get(obj.key, [])
        if not found:
            findings.append(Finding(obj.key, JOB_HEALTH, ["no job on the server"], fix=obj.key))
            continue
        problems = []
        for job in found:
            if not job["scheduled"]:
                problems.append(f"job {job['job_id']} is paused")
            if job["last_run_status"] == "Failed":
                problems.append(
                    f"job {job['job_id']} failed ({job['total_failures']} failures): "
                    f"{job['last_error'] or 'no error recorded'}"
                )
            if job["overdue"]:
                problems.append(f"job {job['job_id']} is overdue (next start {job['next_start']})")
        if len(found) > 1:
            problems.append(f"{len(found)} jobs where one is declared")
        metadata = {
            "job_ids": [job["job_id"] for job in found],
            "schedule_interval": found[0]["schedule_interval"],
            "last_run_status": found[0]["last_run_status"] or "not run yet",
            "next_start": found[0]["next_start"],
        }
        findings.append(Finding(obj.key, JOB_HEALTH, problems, metadata))
    return findings


def _of_kind(graph: SchemaGraph, kind: ObjectKind) -> list[SchemaObject]:
    return [obj for obj in graph if obj.kind == kind]


# ------------------------------------------------------ partitions (plain PostgreSQL)

_PARTITIONS = """
SELECT n.nspname AS schema, parent.relname AS name, child.relname AS partition,
       pg_get_expr(child.relpartbound, child.oid) = 'DEFAULT' AS is_default,
       pg_get_partition_constraintdef(child.oid) AS bound
FROM pg_partitioned_table p
JOIN pg_class parent ON parent.oid = p.partrelid
JOIN pg_namespace n ON n.oid = parent.relnamespace
LEFT JOIN pg_inherits i ON i.inhparent = p.partrelid
LEFT JOIN pg_class child ON child.oid = i.inhrelid
WHERE p.partstrat = 'r'
"""


def range_bounds(constraint: str | None) -> tuple[datetime | None, datetime | None]:
    """Lower and upper bound of a range partition, from its implicit constraint
    (`col >= '...'::type AND col < '...'::type`) read with sqlglot."""
    if not constraint:
        return None, None
    tree = sqlglot.parse_one(constraint, read=DIALECT)
    lower = next((n.expression for n in tree.find_all(exp.GTE)), None)
    upper = next((n.expression for n in tree.find_all(exp.LT)), None)
    return _instant(lower), _instant(upper)


def _instant(node: exp.Expression | None) -> datetime | None:
    """A timestamp/date literal as an aware datetime (a date or naive timestamp as UTC)."""
    while isinstance(node, exp.Cast):
        node = node.this
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    try:
        value = datetime.fromisoformat(node.name)
    except ValueError:  # not a time partition key
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def partition_settings(obj: SchemaObject, graph: SchemaGraph) -> dict[str, str]:
    """Premake, retention and interval of a natively partitioned table: its
    `-- platform:` annotation, else (a hypertable rendered natively) the width rule
    of partition_rules.py and its retention policy's drop_after."""
    settings = dict(obj.annotations)
    hypertable = graph.attached(obj, ObjectKind.HYPERTABLE)
    retention = graph.attached(obj, ObjectKind.RETENTION_POLICY)
    if hypertable is not None:  # the width rule of partition_rules.py
        return hypertable_settings(hypertable, retention, settings)
    if retention is not None and "retention" not in settings:
        settings["retention"] = str(retention.params.get("drop_after"))
    return settings


def partition_findings(session: Session, graph: SchemaGraph, now: datetime) -> list[Finding]:
    """`chunk_health` of every natively range-partitioned declared table: a partition
    for now and the premake horizon, none wholly past retention, no rows in a default
    partition. One query for all partitions, then at most two per table."""
    partitions: dict[tuple[str, str], list[dict]] = {}
    for row in session.rows(_PARTITIONS):
        partitions.setdefault((row["schema"], row["name"]), []).append(row)
    findings = []
    for obj in _of_kind(graph, ObjectKind.TABLE):
        if (obj.schema, obj.name) not in partitions:
            continue
        rows = [r for r in partitions[(obj.schema, obj.name)] if r["partition"]]
        bounds = {r["partition"]: range_bounds(r["bound"]) for r in rows if not r["is_default"]}
        default = next((r["partition"] for r in rows if r["is_default"]), None)
        horizon, cutoff = _horizon_and_cutoff(session, now, partition_settings(obj, graph))
        uppers = [upper for _, upper in bounds.values() if upper is not None]
        covered_until = max(uppers, default=None)
        problems: list[str] = []
        if covered_until is None or covered_until <= horizon:
            problems.append(
                f"no partition for {horizon:%Y-%m-%d %H:%M} (premake horizon); partitions end "
                + (f"at {covered_until:%Y-%m-%d %H:%M}" if covered_until else "nowhere: none exist")
            )
        expired = sorted(
            name for name, (_, upper) in bounds.items() if cutoff and upper and upper <= cutoff
        )
        if expired:
            problems.append(f"{len(expired)} partition(s) wholly past retention are still present")
        metadata: dict[str, object] = {
            "partitions": len(bounds),
            "covered_until": covered_until.isoformat() if covered_until else "",
            "premake_horizon": horizon.isoformat(),
        }
        if expired:
            metadata["expired_partitions"] = expired[:EXAMPLES]
        if default is not None:
            has_rows = session.value(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
                    sql.Identifier(obj.schema, default)
                )
            )
            metadata["default_partition"] = default
            if has_rows:
                problems.append(f"rows in the default partition {default}")
        # A hypertable rendered as native partitions reports on its hypertable asset.
        target = (graph.attached(obj, ObjectKind.HYPERTABLE) or obj).key
        findings.append(
            Finding(target, CHUNK_HEALTH, problems, metadata, fix=target if problems else None)
        )
    return findings


def _horizon_and_cutoff(
    session: Session, now: datetime, settings: dict[str, str]
) -> tuple[datetime, datetime | None]:
    """now + premake partition intervals (at least now itself), and now - retention."""
    row = session.rows(
        "SELECT %(now)s::timestamptz + %(interval)s::interval * %(premake)s AS horizon, "
        "%(now)s::timestamptz - %(retention)s::interval AS cutoff",
        {
            "now": now,
            "interval": settings.get("partition_interval", "0"),
            "premake": int(settings.get("premake", 0)),
            "retention": settings.get("retention"),
        },
    )[0]
    return row["horizon"], row["cutoff"]


# ------------------------------------------------------------------------ aggregates

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
class Bucketing:
    """How an aggregate buckets time: `time_bucket(width, column) AS alias`."""

    width: str
    column: exp.Column  # the raw time column, as the query names it
    alias: str


def bucketing(aggregate: SchemaObject) -> Bucketing | None:
    """The aggregate's time bucket, read from its declared query with sqlglot."""
    query = aggregate.definition.tree.expression
    if not isinstance(query, exp.Select):
        return None
    for projection in query.expressions:
        call = projection.this if isinstance(projection, exp.Alias) else projection
        if not (isinstance(call, exp.Anonymous) and call.name.lower() == "time_bucket"):
            continue
        width, column = interval_text(call.expressions[0]), call.expressions[1]
        if width and isinstance(column, exp.Column):
            return Bucketing(width, column.copy(), projection.alias_or_name)
    return None


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
    for obj in _of_kind(graph, ObjectKind.CONTINUOUS_AGGREGATE):
        if (obj.schema, obj.name) not in live:
            what = "continuous aggregate" if timescale else "materialized view"
            findings.append(
                Finding(obj.key, AGGREGATE_HEALTH, [f"no {what} on the server"], fix=obj.key)
            )
            continue
        bucket = bucketing(obj)
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
    bucket: Bucketing,
    now: datetime,
    windowed: bool,
) -> RefreshLimits:
    """No policy, no schedule: nothing is allowed or pending, buckets ended by now are complete."""
    params = policy.params if policy is not None else {}
    start = params.get("start_offset") if windowed else None
    scheduled = policy is not None
    row = session.rows(
        _LIMITS,
        {
            "now": now,
            "end": str(params.get("end_offset") or "0") if scheduled else None,
            "every": str(params.get("schedule_interval") or "1 hour") if scheduled else None,
            "width": bucket.width,
            "start": str(start) if start else None,
        },
    )[0]
    return RefreshLimits(row["allowed"], row["window_start"], row["complete_before"])


def _timescale_materialized(
    session: Session, bucket: Bucketing, watermark: datetime | None
) -> Materialized:
    """TimescaleDB materializes whole buckets up to the watermark."""
    if watermark is None:
        return Materialized(None)
    start = session.value(
        "SELECT %(w)s::timestamptz - %(width)s::interval", {"w": watermark, "width": bucket.width}
    )
    return Materialized(watermark, start, watermark)


def _view_materialized(
    session: Session, aggregate: SchemaObject, bucket: Bucketing, complete_before: datetime
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
    bucket: Bucketing,
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
    bucket: Bucketing,
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
    bucket: Bucketing,
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
        .from_(exp.to_table(aggregate.qualified_name))
        .where(exp.column(bucket.alias).eq(_time_literal(start)))
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


# ----------------------------------------------------------- which checks, and running them

CHECK_DESCRIPTIONS = {
    CHUNK_HEALTH: "Chunks or partitions are as the policies say: old chunks compressed, expired "
    "ones dropped, partitions made ahead, no rows in the future or in a default partition.",
    JOB_HEALTH: "The policy has exactly one job on the server, scheduled, not failing or overdue.",
    AGGREGATE_HEALTH: "The aggregate (a materialized view on plain PostgreSQL) holds every source "
    "row its refresh schedule should have aggregated, and its last complete bucket matches the "
    "raw table.",
}
SENSOR_CHECKS = {
    "chunk_health_sensor": (CHUNK_HEALTH, JOB_HEALTH),
    "aggregate_health_sensor": (AGGREGATE_HEALTH,),
}


def is_range_partitioned(obj: SchemaObject) -> bool:
    """A table declared `PARTITION BY RANGE (...)` in its own SQL."""
    return obj.kind == ObjectKind.TABLE and any(
        True for _ in obj.definition.tree.find_all(exp.PartitionedByProperty)
    )


def health_checks(obj: SchemaObject) -> list[str]:
    """The health checks an object has, besides `in_sync`."""
    if obj.kind == ObjectKind.HYPERTABLE or is_range_partitioned(obj):
        return [CHUNK_HEALTH]
    if obj.kind in POLICY_PROCS.values():
        return [JOB_HEALTH]
    if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE:
        return [AGGREGATE_HEALTH]
    return []


def observe(session: Session, graph: SchemaGraph, checks: set[str], now: datetime) -> list[Finding]:
    """Findings of the given checks on every object that has them.

    On plain PostgreSQL the TimescaleDB objects have no native chunks or jobs: they
    are reported as not applicable (passed), the way their materializations are; a
    continuous aggregate is judged as its materialized view.
    """
    found: list[Finding] = []
    timescale = timescale_installed(session)
    if CHUNK_HEALTH in checks:
        found += partition_findings(session, graph, now)
        if timescale:
            found += timescale_chunk_findings(session, graph, now)
    if JOB_HEALTH in checks and timescale:
        found += timescale_job_findings(session, graph, now)
    if AGGREGATE_HEALTH in checks:
        found += aggregate_findings(session, graph, now, timescale=timescale)
    seen = {(f.key, f.check) for f in found}
    for obj in graph:
        for check in health_checks(obj):
            if check in checks and (obj.key, check) not in seen:
                reason = (
                    "not applicable on this engine: no TimescaleDB"
                    if obj.is_timescale and not timescale
                    else "not partitioned on the server"
                )
                found.append(
                    Finding(obj.key, check, [] if obj.is_timescale else [reason],
                            {"reason": reason}, fix=obj.key if not obj.is_timescale else None)
                )  # fmt: skip
    return found
