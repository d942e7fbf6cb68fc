"""Range-partitioned tables whose partitions are exactly what the platform's upkeep keeps.

Such a table is written as its parent with the `-- platform:` annotation that makes
upkeep keep the same partitions (execute/partitions.py); the partitions themselves are
not written. Any other partitioning is written as the database holds it.

A time column's partitions are matched against the widths upkeep chooses from. An
integer column's (integer time, a hypertable's native form) are as wide as their width
and aligned on "now" of a now function: the candidates are the functions of the imported
schemas that take nothing and return the column's type without changing anything
(STABLE or IMMUTABLE), each called in a read-only transaction that is rolled back; the
first (by name) whose "now" gives exactly the partitions there are is the one annotated.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from platform_assets.execute.partition_rules import WIDTHS
from platform_assets.execute.partitions import existing_partitions, partition_key, upkept_ranges
from platform_assets.live.session import Session

TIME_TYPES = frozenset({"timestamp with time zone", "timestamp without time zone", "date"})
INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})


def upkept_tables(
    session: Session, schemas: list[str], now: datetime
) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(schema, table) -> (its annotation, its partitions) for every table whose
    partitions upkeep would keep as they are at `now`."""
    parents = session.rows(
        "SELECT n.nspname::text AS schema, c.relname::text AS name "
        "FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND NOT c.relispartition ORDER BY 1, 2",
        (schemas,),
    )
    found: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for parent in parents:
        schema, table = parent["schema"], parent["name"]
        key = partition_key(session, schema, table)
        annotation = None
        if key is not None and key[1] in TIME_TYPES:
            annotation, partitions = _time_annotation(session, schema, table, now)
        elif key is not None and key[1] in INTEGER_TYPES:
            annotation, partitions = _integer_annotation(session, schemas, schema, table, key[1])
        if annotation is not None:
            found[(schema, table)] = (annotation, partitions)
    return found


def _time_annotation(
    session: Session, schema: str, table: str, now: datetime
) -> tuple[str | None, list[str]]:
    existing = existing_partitions(session, schema, table)
    for width, _seconds in WIDTHS:
        current = upkept_ranges(session, width, now, 0, 0)[0]["lower"]
        lookback = sum(1 for lower, _ in existing.values() if lower and lower < current)
        premake = sum(1 for lower, _ in existing.values() if lower and lower > current)
        kept = {
            f"{table}_p{r['lower']:%Y%m%d}": (r["lower"], r["upper"])
            for r in upkept_ranges(session, width, now, premake, lookback)
        }
        if kept == existing:
            annotation = f'partition_interval="{width}" premake={premake} lookback={lookback}'
            return annotation, sorted(existing)
    return None, []


def _integer_annotation(
    session: Session, schemas: list[str], schema: str, table: str, column_type: str
) -> tuple[str | None, list[str]]:
    existing = existing_partitions(session, schema, table, integer=True)
    bounds = list(existing.values())
    if not bounds or not all(isinstance(b, int) for bound in bounds for b in bound):
        return None, []
    widths = {upper - lower for lower, upper in bounds}
    if len(widths) != 1:
        return None, []
    width = widths.pop()
    for function, now in _integer_nows(session, schemas, column_type):
        start = now // width * width
        lookback = sum(1 for lower, _ in existing.values() if lower < start)
        premake = sum(1 for lower, _ in existing.values() if lower > start)
        kept = {  # upkeep's names (execute/partitions.py integer_plan)
            f"{table}_p{lower}".replace("-", "m"): (lower, lower + width)
            for lower in range(start - lookback * width, start + (premake + 1) * width, width)
        }
        if kept == existing:
            annotation = (
                f"partition_interval={width} premake={premake} lookback={lookback} "
                f"integer_time=true integer_now_func={function}"
            )
            return annotation, sorted(existing)
    return None, []


def _integer_nows(session: Session, schemas: list[str], column_type: str) -> list[tuple[str, int]]:
    """(schema.function, the value it returns) for each function that could give an
    integer time column its "now"."""
    candidates = session.rows(
        "SELECT n.nspname::text AS schema, p.proname::text AS name "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = ANY(%s) AND p.prokind = 'f' AND p.pronargs = 0 "
        "  AND p.provolatile IN ('s', 'i') AND p.prorettype = %s::regtype AND NOT p.proretset "
        "ORDER BY 1, 2",
        (schemas, column_type),
    )
    found: list[tuple[str, int]] = []
    for row in candidates:
        if "." in row["schema"] + row["name"]:
            continue  # upkeep reads the annotation's `schema.function` split at the dot
        try:
            with session.conn.transaction(force_rollback=True):
                session.conn.execute("SET TRANSACTION READ ONLY")
                now = session.value(
                    sql.SQL("SELECT {}()").format(sql.Identifier(row["schema"], row["name"]))
                )
        except psycopg.Error:
            continue
        if isinstance(now, int):
            found.append((f"{row['schema']}.{row['name']}", now))
    return found
