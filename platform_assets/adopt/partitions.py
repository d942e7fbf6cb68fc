"""Range-partitioned tables whose partitions are exactly what the platform's upkeep keeps.

Such a table is written as its parent with the `-- platform:` annotation that makes
upkeep keep the same partitions (execute/partitions.py); the partitions themselves are
not written. Any other partitioning is written as the database holds it.
"""

from __future__ import annotations

from datetime import datetime

from platform_assets.execute.partition_rules import WIDTHS
from platform_assets.execute.partitions import existing_partitions, partition_key, upkept_ranges
from platform_assets.live.session import Session

TIME_TYPES = frozenset({"timestamp with time zone", "timestamp without time zone", "date"})


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
        if key is None or key[1] not in TIME_TYPES:
            continue
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
                found[(schema, table)] = (annotation, sorted(existing))
                break
    return found
