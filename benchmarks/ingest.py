"""Ingest capacity of the produced schemas, each next to the same table without indexes.

    python benchmarks/ingest.py [--rows 500000] [--batches 10]

- wildduck.email_events by COPY (document 000 asks 10,000 rows/s sustained);
- analytics.events by batched INSERTs, one transaction per batch (document 004
  asks 100,000 rows/s).

The schema comes from the platform's own materialization on a throwaway embedded
cluster; the floor is `CREATE TABLE ... (LIKE ...)` of the same table: same
columns, no indexes, constraints or partitions. Rows are generated up front
(deterministically) and are not part of the timing. "Sustained" is the slowest
of the batches, each its own COPY or INSERT transaction.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The shipped admin seed stores the hash of this password; on a throwaway cluster
# any will do.
os.environ.setdefault("WILDDUCK_ADMIN_PASSWORD", secrets.token_urlsafe(16))

from platform_assets.dagster.assets import build_schema_assets  # noqa: E402
from platform_assets.dagster.resources import SchemaDatabase  # noqa: E402
from platform_assets.live.embedded import EmbeddedCluster  # noqa: E402
from platform_assets.parse.compiler import compile_directory  # noqa: E402

EMAIL_COLUMNS = (
    "time", "event_type", "message_id", "from_address", "from_domain", "to_address",
    "to_domain", "mta_node", "sending_ip", "status", "delivery_time_ms", "message_size",
    "dkim_result", "spf_result", "spam_score",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "timestamp", "source_module", "event_type", "correlation_id", "asset_id",
    "severity", "environment", "tenant_id", "payload",
)  # fmt: skip


def email_events(count: int, start: datetime, rng: random.Random) -> list[tuple]:
    """Events spread over the last day, as a mail cluster emits them."""
    domains = [f"example{i}.com" for i in range(200)]
    kinds = ("received", "queued", "delivered", "deferred", "bounced")
    rows = []
    for i in range(count):
        domain = rng.choice(domains)
        rows.append(
            (
                start + timedelta(milliseconds=i * 86_400_000 // count),
                rng.choice(kinds),
                f"<{i}@{domain}>",
                f"user{i % 5000}@{domain}",
                domain,
                f"rcpt{i % 9000}@{rng.choice(domains)}",
                rng.choice(domains),
                f"mta{i % 6}",
                f"10.0.{i % 4}.{i % 250}",
                "sent",
                rng.randrange(20, 5000),
                rng.randrange(1_000, 2_000_000),
                "pass",
                "pass",
                round(rng.random() * 10, 2),
            )
        )
    return rows


def analytics_events(count: int, start: datetime, rng: random.Random) -> list[tuple]:
    modules = ("scan", "unity", "wildduck", "scheduler")
    rows = []
    for i in range(count):
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                start + timedelta(milliseconds=i * 86_400_000 // count),
                rng.choice(modules),
                rng.choice(("created", "updated", "alert", "heartbeat")),
                uuid.UUID(int=rng.getrandbits(128), version=4) if i % 3 == 0 else None,
                f"asset-{i % 1000}",
                rng.choice(("info", "warning", "error")),
                "production",
                f"tenant-{i % 20}",
                f'{{"n": {i}, "ok": {str(i % 7 != 0).lower()}}}',
            )
        )
    return rows


def copy_batch(conn: psycopg.Connection, table: sql.Composable, columns, rows) -> None:
    """One COPY of pre-rendered text rows, in its own transaction."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.transaction(), conn.cursor().copy(statement) as copy:
        copy.write(rows)


def insert_batch(conn: psycopg.Connection, table: sql.Composable, columns, rows) -> None:
    """Multi-row INSERTs of 5,000 rows each, as one array per column unnested by the
    server (one statement, a handful of parameters), the batch in one transaction."""
    types = dict(
        conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table.as_string(conn),),
        ).fetchall()
    )
    statement = sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
        table,
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(
            sql.SQL("{}::{}[]").format(sql.Placeholder(), sql.SQL(types[c])) for c in columns
        ),
    )
    with conn.transaction():
        for offset in range(0, len(rows), 5000):
            part = rows[offset : offset + 5000]
            conn.execute(statement, [list(values) for values in zip(*part, strict=True)])


def as_copy_text(rows: list[tuple]) -> bytes:
    """COPY text format (no value here needs escaping)."""
    out = io.StringIO()
    for row in rows:
        out.write("\t".join(r"\N" if v is None else str(v) for v in row))
        out.write("\n")
    return out.getvalue().encode()


def measure(
    conn: psycopg.Connection,
    load: Callable[[psycopg.Connection, sql.Composable, tuple, object], None],
    table: sql.Composable,
    columns: tuple,
    batches: list,
    rows_per_batch: int,
) -> tuple[float, float]:
    """(overall rows/s, slowest batch rows/s)."""
    rates, total = [], 0.0
    for batch in batches:
        start = time.perf_counter()
        load(conn, table, columns, batch)
        elapsed = time.perf_counter() - start
        total += elapsed
        rates.append(rows_per_batch / elapsed)
    return rows_per_batch * len(batches) / total, min(rates)


def bare_copy_of(conn: psycopg.Connection, schema: str, table: str) -> sql.Composable:
    bare = sql.Identifier("bench", f"{table}_bare")
    conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
            bare, sql.Identifier(schema, table)
        )
    )
    return bare


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000, help="rows per table")
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args(argv)
    per_batch = args.rows // args.batches

    work = Path(tempfile.mkdtemp(prefix="platform-bench-"))
    work.chmod(0o755)
    cluster = EmbeddedCluster(work / "cluster")
    cluster.up(databases=("bench",))
    try:
        url = cluster.url("bench")
        dg.materialize(
            [build_schema_assets(compile_directory(REPO / "sql", REPO))],
            resources={"database": SchemaDatabase(url=url)},
        )
        rng = random.Random(4)
        start = datetime.now(UTC) - timedelta(days=1)
        email = email_events(per_batch * args.batches, start, rng)
        email_batches = [
            as_copy_text(email[i : i + per_batch]) for i in range(0, len(email), per_batch)
        ]
        events = analytics_events(per_batch * args.batches, start, rng)
        event_batches = [events[i : i + per_batch] for i in range(0, len(events), per_batch)]

        results = []
        with psycopg.connect(url, autocommit=True) as conn:
            for label, load, schema, table, columns, batches, target in (
                ("COPY", copy_batch, "wildduck", "email_events", EMAIL_COLUMNS,
                 email_batches, 10_000),
                ("batched INSERT", insert_batch, "analytics", "events", EVENT_COLUMNS,
                 event_batches, 100_000),
            ):  # fmt: skip
                floor = measure(
                    conn, load, bare_copy_of(conn, schema, table), columns, batches, per_batch
                )
                ours = measure(
                    conn, load, sql.Identifier(schema, table), columns, batches, per_batch
                )
                indexes = conn.execute(
                    "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                    (schema, table),
                ).fetchone()[0]
                results.append((f"{schema}.{table}", label, indexes, ours, floor, target))
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"ingest, {args.batches} batches of {per_batch:,} rows per table, plain PostgreSQL "
        "(embedded cluster); rows/s overall / slowest batch:"
    )
    for table, label, indexes, ours, floor, target in results:
        print(
            f"  {table:<22} {label:<15} schema ({indexes} indexes): {ours[0]:>9,.0f} / "
            f"{ours[1]:>9,.0f}   no indexes (floor): {floor[0]:>9,.0f} / {floor[1]:>9,.0f}   "
            f"{ours[0] / floor[0]:.2f}x floor; asked {target:,}/s: "
            f"{'met' if ours[1] >= target else 'NOT met'} (sustained)"
        )


if __name__ == "__main__":
    main()
