"""`chunk_health` and `job_health` on TimescaleDB: chunks and policy jobs, read from its catalog."""

from __future__ import annotations

from datetime import datetime

from platform_assets.health.findings import (
    CHUNK_HEALTH,
    EXAMPLES,
    JOB_HEALTH,
    POLICY_PROCS,
    SIZE_FACTOR,
    SIZE_FLOOR,
    Finding,
    of_kind,
)
from platform_assets.live.session import Session
from platform_assets.live.timescale_catalog import POLICY_PROCEDURES
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey, ObjectKind

_CHUNKS = """
WITH policy AS (
    SELECT hypertable_schema, hypertable_name,
           max(config->>'compress_after') FILTER (
               WHERE proc_name = %(compression)s
                 AND jsonb_typeof(config->'compress_after') = 'string') AS compress_after,
           max(config->>'drop_after') FILTER (
               WHERE proc_name = %(retention)s
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
                "compression": POLICY_PROCEDURES[ObjectKind.COMPRESSION_POLICY],
                "retention": POLICY_PROCEDURES[ObjectKind.RETENTION_POLICY],
            },
        )
    }
    findings = []
    for obj in of_kind(graph, ObjectKind.HYPERTABLE):
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
