"""Upkeep of natively range-partitioned tables: partitions made ahead, expired ones dropped.

A table declared `PARTITION BY RANGE (column)` carries its settings in an annotation
on the line above its CREATE TABLE:

    -- platform: partition_interval="1 month" premake=13 retention="6 months"

- `partition_interval`: the width of each partition (an interval; month multiples
  are aligned to the first of the month, other widths to midnight UTC);
- `premake`: how many partitions after the current one exist at all times;
- `retention` (optional): partitions whose whole range is older than now minus
  this are detached, then dropped. A partition that may still hold a row newer
  than the cutoff is never dropped.

Neither takes the parent's ACCESS EXCLUSIVE where the server allows (LOCKS.md):
a partition is made standalone and ATTACHed (SHARE UPDATE EXCLUSIVE), and one is
detached `CONCURRENTLY` after the table's transaction (PostgreSQL 14+, no DEFAULT
partition; else in the transaction, and the plan says why). A detach interrupted
half-way leaves the partition "detach pending" (`pg_inherits.inhdetachpending`):
the next run FINALIZEs it.

Partitions are named `<table>_pYYYYMMDD` after their lower bound. Materializing the
table (or the maintenance schedule) brings them in line; when nothing is due it
executes nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import sqlglot
from psycopg import sql
from sqlglot import exp

from platform_assets.diff import retention
from platform_assets.execute.partition_rules import partition_settings
from platform_assets.live.session import Session
from platform_assets.model.declarations import TableDefinition
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.hazards import (
    Hazard,
    LockLevel,
    PlannedStatement,
    alter_table,
    planned,
)
from platform_assets.model.objects import SchemaObject
from platform_assets.parse.classify import without_timescale_options
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import regclass_name


@dataclass
class PartitionPlan:
    create: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    # Wholly past retention by their bounds, yet holding a newer row: never dropped.
    kept: list[str] = field(default_factory=list)
    # Of `drop`: expired longer ago than the upkeep grace, with their rows (retention.py).
    overdue: dict[str, int] = field(default_factory=dict)
    # Left "detach pending" by an interrupted DETACH ... CONCURRENTLY: finalized first.
    pending: list[str] = field(default_factory=list)
    # Until when the same catalog gives the same plan (a time plan); None: not known.
    holds_until: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.create and not self.drop and not self.pending


def partition_key(session: Session, schema: str, table: str) -> tuple[str, str] | None:
    """The column and type a table is range-partitioned by, or None when it is not."""
    return session.snapshot.partition_key(schema, table)


def partitioned_create(table: SchemaObject, column: str) -> str:
    """The table's CREATE TABLE with `PARTITION BY RANGE (column)` added, rendered from
    its parsed tree (the hypertable's native equivalent)."""
    if table.declared(TableDefinition).partitioning is not None:
        raise SchemaError(
            "a table converted to a hypertable cannot also declare PARTITION BY",
            table.location,
        )
    tree = without_timescale_options(table.definition.tree)  # a copy
    properties = tree.args.get("properties") or exp.Properties(expressions=[])
    properties.append(
        "expressions",
        exp.PartitionedByProperty(
            this=exp.Anonymous(
                this="RANGE", expressions=[exp.column(exp.to_identifier(column, quoted=True))]
            )
        ),
    )
    tree.set("properties", properties)
    return tree.sql(DIALECT, comments=False)


def existing_partitions(
    session: Session, schema: str, table: str, integer: bool = False
) -> dict[str, tuple]:
    """Partition -> (lower, upper): instants, or integers for integer time."""
    bounds = integer_bounds if integer else range_bounds
    return {
        name: bounds(bound) for name, bound in session.snapshot.partitions(schema, table).items()
    }


def plan(session: Session, obj: SchemaObject, graph: SchemaGraph, now: datetime) -> PartitionPlan:
    """What is missing (now through the premake horizon), what has expired, and what an
    interrupted detach left pending."""
    settings = partition_settings(obj, graph)
    if "partition_interval" not in settings:
        return PartitionPlan()
    if settings.get("integer_time"):
        result = integer_plan(session, obj, settings)
    else:
        result = time_plan(session, obj, settings, now)
    result.pending = detach_pending(session, obj.schema, obj.name)
    return result


def detach_pending(session: Session, schema: str, table: str) -> list[str]:
    """Partitions an interrupted DETACH ... CONCURRENTLY left pending (PostgreSQL 14+)."""
    partitioning = session.snapshot.partitioning(schema, table)
    return list(partitioning.pending) if partitioning else []


def time_plan(
    session: Session, obj: SchemaObject, settings: dict[str, str], now: datetime
) -> PartitionPlan:
    """The plan for a time column (timestamptz, date, timestamp)."""
    existing = existing_partitions(session, obj.schema, obj.name)
    retention_interval = settings.get("retention")
    # Date arithmetic on the server: a function of `now` and the declaration alone.
    with session.neutral():
        wanted = upkept_ranges(
            session,
            settings["partition_interval"],
            now,
            int(settings.get("premake", 0)),
            int(settings.get("lookback", 0)),
        )
        cutoff = None
        if retention_interval:
            cutoff = session.value(
                "SELECT %s::timestamptz - %s::interval", (now, retention_interval)
            )
        holds_until = _holds_until(session, now, wanted, existing, retention_interval, cutoff)
    result = PartitionPlan(holds_until=holds_until)
    for row in wanted:
        lower, upper = row["lower"], row["upper"]
        if cutoff is not None and upper <= cutoff:
            continue  # looking back never makes a partition retention would drop
        # Only what no partition covers (partitions of another width, after the width
        # changed, may cover part of the period).
        for start, end in uncovered(lower, upper, list(existing.values())):
            result.create.append((f"{obj.name}_p{start:%Y%m%d}", start, end))
    if cutoff is not None:
        expired = sorted(
            name for name, (_, upper) in existing.items() if upper is not None and upper <= cutoff
        )
        column = partition_key(session, obj.schema, obj.name)
        for name in expired:
            # The bound says every row is older; the rows are asked too, so that no row
            # newer than the cutoff is ever dropped, whatever made the partition.
            if column and session.value(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} >= %s)").format(
                    sql.Identifier(obj.schema, name), sql.Identifier(column[0])
                ),
                (cutoff,),
            ):
                result.kept.append(name)
            else:
                result.drop.append(name)
        late = cutoff - retention.grace(settings["partition_interval"])
        for name in result.drop:
            if existing[name][1] <= late:
                rows = session.value(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(obj.schema, name))
                )
                if rows:
                    result.overdue[name] = rows
    return result


def _holds_until(
    session: Session,
    now: datetime,
    wanted: list[dict],
    existing: dict[str, tuple],
    retention_interval: str | None,
    cutoff: datetime | None,
) -> datetime | None:
    """The next instant the plan made at `now` may differ with the catalog unchanged:
    the end of the current period (another one is wanted then), or retention's cutoff
    passing one more upper bound (a partition expires, or a looked-back one is no longer
    made)."""
    until = min((r["upper"] for r in wanted if r["lower"] <= now < r["upper"]), default=None)
    if cutoff is None:
        return until
    uppers = [r["upper"] for r in wanted] + [upper for _, upper in existing.values()]
    later = [upper for upper in uppers if upper is not None and upper > cutoff]
    if not later:
        return until
    expires = session.value(
        "SELECT min(u + %s::interval) FROM unnest(%s::timestamptz[]) AS u",
        (retention_interval, later),
    )
    return expires if until is None else min(until, expires)


def upkept_ranges(
    session: Session, width: str, now: datetime, premake: int, lookback: int
) -> list[dict]:
    """The ranges (`lower`, `upper`) upkeep keeps at `now`: the current period, `premake`
    ahead and `lookback` behind."""
    return session.rows(
        sql.SQL(
            """
            WITH aligned AS (SELECT {start} AS start)
            SELECT lower, lower + %(width)s::interval AS upper
            FROM aligned, generate_series(-%(lookback)s::int, %(premake)s::int) AS n,
                 LATERAL (SELECT start + %(width)s::interval * n AS lower) l
            ORDER BY lower
            """
        ).format(start=_aligned_start(sql.SQL("%(now)s"))),
        {"width": width, "now": now, "premake": premake, "lookback": lookback},
    )


def integer_now(session: Session, now_func: str) -> int:
    """ "Now" of an integer time column: the declared integer_now function, called by its
    name as regproc reads it (`'"Plant Floor".now_ms'`: quoted parts kept)."""
    named = regclass_name(now_func)
    function = sql.Identifier(*filter(None, (named.schema, named.name)))
    return int(session.value(sql.SQL("SELECT {}()").format(function)))


def integer_plan(session: Session, obj: SchemaObject, settings: dict[str, str]) -> PartitionPlan:
    """The same plan for an integer time column: bounds are multiples of the width
    around "now", which the declared integer_now function gives (without one there is
    no now: nothing is made, and the hypertable asset says so)."""
    now_func = settings.get("integer_now_func")
    if not now_func:
        return PartitionPlan()
    width = int(settings["partition_interval"])
    now = integer_now(session, now_func)
    start = now // width * width
    existing = existing_partitions(session, obj.schema, obj.name, integer=True)
    cutoff = now - int(settings["retention"]) if settings.get("retention") else None
    result = PartitionPlan()
    for n in range(-int(settings.get("lookback", 0)), int(settings.get("premake", 0)) + 1):
        lower, upper = start + n * width, start + (n + 1) * width
        if cutoff is not None and upper <= cutoff:
            continue
        for low, high in uncovered(lower, upper, list(existing.values())):
            result.create.append((f"{obj.name}_p{low}".replace("-", "m"), low, high))
    if cutoff is None:
        return result
    column = partition_key(session, obj.schema, obj.name)
    for name, (_, upper) in sorted(existing.items()):
        if not isinstance(upper, int) or upper > cutoff:
            continue
        newer = column and session.value(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} >= %s)").format(
                sql.Identifier(obj.schema, name), sql.Identifier(column[0])
            ),
            (cutoff,),
        )
        (result.kept if newer else result.drop).append(name)
        if not newer and upper <= cutoff - 2 * width:
            rows = session.value(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(obj.schema, name))
            )
            if rows:
                result.overdue[name] = rows
    return result


def _aligned_start(instant: sql.Composable) -> sql.Composed:
    """The lower bound of the partition holding `instant` (width `%(width)s`): years and
    months from their first day, other widths binned from midnight UTC."""
    return sql.SQL(
        """CASE WHEN extract(epoch FROM %(width)s::interval) >= 365 * 86400
                THEN date_trunc('year', {instant}::timestamptz AT TIME ZONE 'UTC')
                WHEN extract(epoch FROM %(width)s::interval) >= 28 * 86400
                THEN date_trunc('month', {instant}::timestamptz AT TIME ZONE 'UTC')
                ELSE date_bin(%(width)s::interval, {instant}::timestamptz AT TIME ZONE 'UTC',
                              '2000-01-03')
           END AT TIME ZONE 'UTC'"""
    ).format(instant=instant)


def cover(session: Session, obj: SchemaObject, width: str, instants: list[datetime]) -> list[str]:
    """Create the partitions that rows at `instants` need and no partition covers
    (seed rows outside the premake window); returns their names."""
    if not instants:
        return []
    rows = session.rows(
        sql.SQL(
            "SELECT DISTINCT lower, lower + %(width)s::interval AS upper FROM "
            "(SELECT {start} AS lower FROM unnest(%(instants)s::timestamptz[]) AS i) b "
            "ORDER BY lower"
        ).format(start=_aligned_start(sql.SQL("i"))),
        {"width": width, "instants": instants},
    )
    existing = list(existing_partitions(session, obj.schema, obj.name).values())
    missing = PartitionPlan()
    for row in rows:
        for start, end in uncovered(row["lower"], row["upper"], existing):
            missing.create.append((f"{obj.name}_p{start:%Y%m%d}", start, end))
            existing.append((start, end))
    apply(session, obj, missing)
    return [name for name, _, _ in missing.create]


def uncovered(
    lower: datetime, upper: datetime, ranges: list[tuple[datetime | None, datetime | None]]
) -> list[tuple[datetime, datetime]]:
    """The parts of [lower, upper) that none of `ranges` (None: unbounded) covers."""
    pieces: list[tuple[datetime, datetime]] = []
    cursor = lower
    for low, high in sorted(ranges, key=lambda r: (r[0] is not None, r[0] or lower)):
        if (high is not None and high <= cursor) or (low is not None and low >= upper):
            continue
        if low is not None and low > cursor:
            pieces.append((cursor, low))
        if high is None:
            return pieces
        cursor = max(cursor, high)
        if cursor >= upper:
            return pieces
    pieces.append((cursor, upper))
    return pieces


def apply(
    session: Session, obj: SchemaObject, partition_plan: PartitionPlan, new_parent: bool = False
) -> list[PlannedStatement]:
    """Create what is missing and detach and drop what expired, without the parent's
    ACCESS EXCLUSIVE where the server allows it (`new_parent`: the parent was created
    in this transaction, so no one else sees it and its locks hold no one). Returns
    what must run after the object's transaction commits (concurrent detaches and the
    drops after them)."""
    parent = sql.Identifier(obj.schema, obj.name)
    key = partition_key(session, obj.schema, obj.name) if partition_plan.create else None
    for name, lower, upper in partition_plan.create:
        assert key is not None
        if new_parent:
            session.execute(
                planned(
                    sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                        sql.Identifier(obj.schema, name),
                        parent,
                        sql.Literal(lower),
                        sql.Literal(upper),
                    )
                )
            )
            continue
        for statement in premade(obj, key[0], name, lower, upper):
            session.execute(statement)
    after: list[PlannedStatement] = [
        finalize_detach(parent, sql.Identifier(obj.schema, name)) for name in partition_plan.pending
    ]
    fallback = plain_detach_reason(session, obj.schema, obj.name)
    for name in partition_plan.drop:
        partition = sql.Identifier(obj.schema, name)
        drop = planned(
            sql.SQL("DROP TABLE {}").format(partition),
            LockLevel.ACCESS_EXCLUSIVE,
            Hazard.DELETES_DATA,
        )
        if name in partition_plan.pending:
            after.append(replace(drop, outside_transaction=True))
        elif fallback is None:
            after += [
                planned(
                    sql.SQL("ALTER TABLE {} DETACH PARTITION {} CONCURRENTLY").format(
                        parent, partition
                    ),
                    LockLevel.SHARE_UPDATE_EXCLUSIVE,
                    outside_transaction=True,
                ),
                replace(drop, outside_transaction=True),
            ]
        else:  # detached in the transaction: the parent is locked for its rest
            session.execute(
                replace(
                    alter_table(
                        sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(parent, partition)
                    ),
                    note=fallback,
                )
            )
            session.execute(drop)
    return after


def premade(
    obj: SchemaObject, key: str, name: str, lower: object, upper: object
) -> list[PlannedStatement]:
    """A partition made ahead without the parent's ACCESS EXCLUSIVE (which CREATE TABLE
    ... PARTITION OF takes): created standalone like the parent, given a CHECK of its
    bounds so that ATTACH (SHARE UPDATE EXCLUSIVE on the parent, PostgreSQL 12+) needs
    no validation scan, attached, and the CHECK dropped (the partition bound holds it).
    Identity stays the parent's (a partition being attached may not have its own)."""
    parent = sql.Identifier(obj.schema, obj.name)
    partition = sql.Identifier(obj.schema, name)
    column = sql.Identifier(key)
    bound = sql.Identifier(f"{name[: 63 - len(_BOUND_SUFFIX)]}{_BOUND_SUFFIX}")
    low, high = sql.Literal(lower), sql.Literal(upper)
    # The new table is seen by no one until the transaction commits: its locks hold no one.
    return [
        planned(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING IDENTITY)").format(
                partition, parent
            )
        ),
        planned(
            sql.SQL(
                "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL AND {} >= {} AND {} < {})"
            ).format(partition, bound, column, column, low, column, high)
        ),
        planned(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                parent, partition, low, high
            ),
            LockLevel.SHARE_UPDATE_EXCLUSIVE,
        ),
        planned(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(partition, bound)),
    ]


_BOUND_SUFFIX = "_platform_bound"


def finalize_detach(parent: sql.Identifier, partition: sql.Identifier) -> PlannedStatement:
    """Complete a DETACH ... CONCURRENTLY that was interrupted."""
    return planned(
        sql.SQL("ALTER TABLE {} DETACH PARTITION {} FINALIZE").format(parent, partition),
        LockLevel.SHARE_UPDATE_EXCLUSIVE,
        outside_transaction=True,
    )


def plain_detach_reason(session: Session, schema: str, table: str) -> str | None:
    """Why a partition of the table cannot be detached CONCURRENTLY here (None: it can)."""
    if session.conn.info.server_version < 140000:
        return "DETACH ... CONCURRENTLY needs PostgreSQL 14+: the parent is locked"
    partitioning = session.snapshot.partitioning(schema, table)
    if partitioning is not None and partitioning.has_default:
        return (
            "the parent has a DEFAULT partition, which forbids DETACH ... CONCURRENTLY: "
            "the parent is locked ACCESS EXCLUSIVE until the transaction ends"
        )
    return None


@functools.cache  # pure; a partition's bounds are read by the plan and by its health
def range_bounds(constraint: str | None) -> tuple[datetime | None, datetime | None]:
    """Lower and upper bound of a range partition, from its implicit constraint
    (`col >= '...'::type AND col < '...'::type`) read with sqlglot."""
    if not constraint:
        return None, None
    tree = sqlglot.parse_one(constraint, read=DIALECT)
    lower = next((n.expression for n in tree.find_all(exp.GTE)), None)
    upper = next((n.expression for n in tree.find_all(exp.LT)), None)
    return _instant(lower), _instant(upper)


@functools.cache  # pure, as range_bounds
def integer_bounds(constraint: str | None) -> tuple[int | None, int | None]:
    """Lower and upper bound of an integer-time range partition (`col >= 0 AND col < 100`)."""
    if not constraint:
        return None, None
    tree = sqlglot.parse_one(constraint, read=DIALECT)
    lower = next((n.expression for n in tree.find_all(exp.GTE)), None)
    upper = next((n.expression for n in tree.find_all(exp.LT)), None)
    return _integer(lower), _integer(upper)


def _integer(node: exp.Expression | None) -> int | None:
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        inner = _integer(node.this)
        return -inner if inner is not None else None
    if isinstance(node, exp.Literal):  # 100, or '100'::bigint as the server writes it
        text = node.name.strip()
        return int(text) if text.lstrip("-").isdigit() else None
    return None


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
