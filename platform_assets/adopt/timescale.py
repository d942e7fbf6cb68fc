"""TimescaleDB declarations written from what the live database holds: `create_hypertable`
with `by_range`/`by_hash` and the live chunk interval, every further dimension, columnstore
settings, policies with their live settings and schedule, continuous aggregates with their
query, `set_integer_now_func` and user-defined jobs."""

from __future__ import annotations

import json
from typing import Any

from psycopg import sql

from platform_assets.live.timescale_declared import (
    LiveDimension,
    LiveHypertableDeclaration,
    TimescaleDeclarations,
)
from platform_assets.model.errors import SchemaError

TIMESCALE_FUNCTIONS = "_timescaledb_functions"
# Each policy job's add_* call and the config keys it takes as its own arguments.
POLICIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "policy_compression": (
        "add_compression_policy",
        ("compress_after", "compress_created_before"),
    ),
    "policy_retention": ("add_retention_policy", ("drop_after", "drop_created_before")),
    "policy_reorder": ("add_reorder_policy", ("index_name",)),
    "policy_refresh_continuous_aggregate": (
        "add_continuous_aggregate_policy",
        ("start_offset", "end_offset"),
    ),
}
# Config keys TimescaleDB adds itself (ids of its catalog rows).
INTERNAL_CONFIG = frozenset({"hypertable_id", "mat_hypertable_id"})
# add_reorder_policy takes no schedule_interval: its jobs run daily.
REORDER_SCHEDULES = frozenset({"1 day", "24:00:00"})
# Arguments given as text, never as intervals.
TEXT_ARGUMENTS = frozenset({"index_name"})
# The run limits (max_runtime, max_retries, retry_period) TimescaleDB gives each kind of
# job it adds (2.x): other values are declared by wrapping the add call in alter_job. A
# refresh policy retries after its own schedule interval (None here).
DEFAULT_LIMITS: dict[str, tuple[str, int, str | None]] = {
    "policy_compression": ("00:00:00", -1, "01:00:00"),
    "policy_retention": ("00:05:00", -1, "00:05:00"),
    "policy_reorder": ("00:00:00", -1, "00:05:00"),
    "policy_refresh_continuous_aggregate": ("00:00:00", -1, None),
}
USER_JOB_LIMITS = ("00:00:00", -1, "00:05:00")
LIMITS = ("max_runtime", "max_retries", "retry_period")


def literal(value: object) -> str:
    return sql.Literal(value).as_string(None)


def interval(value: Any) -> str:
    """An interval as a literal, an integer (integer time) as it is; NULL for None."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return f"INTERVAL {literal(str(value))}"


def declarations(live: TimescaleDeclarations) -> list[str]:
    """The statements in the order they run: each hypertable with its policies, each
    aggregate (sources first) with its refresh policy, then user-defined jobs."""
    jobs: dict[str | None, list[str]] = {}
    for job in live.jobs:
        jobs.setdefault(job["relation"], []).append(job_statement(job))
    statements: list[str] = []
    for table in live.hypertables:
        statements += hypertable_statements(table) + jobs.pop(table.relation, [])
    for aggregate in live.aggregates:
        statements.append(
            f"CREATE MATERIALIZED VIEW {aggregate.relation}\n"
            "    WITH (timescaledb.continuous, timescaledb.materialized_only = "
            f"{'true' if aggregate.materialized_only else 'false'}) AS\n"
            f"{aggregate.query.strip().rstrip(';')}\nWITH NO DATA"
        )
        statements += jobs.pop(aggregate.relation, [])
    return statements + [statement for each in jobs.values() for statement in each]


def hypertable_statements(table: LiveHypertableDeclaration) -> list[str]:
    first, *others = table.dimensions
    if first.hash_partitions:
        raise SchemaError(f"hypertable {table.relation}: its first dimension is not by range")
    statements = [f"SELECT create_hypertable({literal(table.relation)}, {dimension(first)})"]
    statements += [
        f"SELECT add_dimension({literal(table.relation)}, {dimension(each)})" for each in others
    ]
    if table.integer_now_func:
        statements.append(
            f"SELECT set_integer_now_func({literal(table.relation)}, "
            f"{literal(table.integer_now_func)})"
        )
    if table.compressed:
        options = ["timescaledb.compress"]
        if table.segmentby:
            options.append(f"timescaledb.compress_segmentby = {literal(table.segmentby)}")
        if table.orderby:
            options.append(f"timescaledb.compress_orderby = {literal(table.orderby)}")
        statements.append(f"ALTER TABLE {table.relation} SET ({', '.join(options)})")
    return statements


def dimension(each: LiveDimension) -> str:
    if each.hash_partitions:
        return f"by_hash({literal(each.column)}, {each.hash_partitions})"
    width = each.interval if each.integer else interval(each.interval)
    return f"by_range({literal(each.column)}, {width})"


def job_statement(job: dict[str, Any]) -> str:
    """The add_* call of a policy, or add_job for a user-defined action, with the live
    schedule (and, for add_job, its config), wrapped in alter_job(...) for the run limits
    that are not the defaults."""
    call = add_call(job)
    policy = job["proc_schema"] == TIMESCALE_FUNCTIONS
    defaults = DEFAULT_LIMITS[job["proc_name"]] if policy else USER_JOB_LIMITS
    limits = [
        f"{name} => {job[name] if name == 'max_retries' else interval(job[name])}"
        for name, default in zip(LIMITS, defaults, strict=True)
        if job[name] != (job["schedule_interval"] if default is None else default)
    ]
    return f"SELECT alter_job({call}, {', '.join(limits)})" if limits else f"SELECT {call}"


def add_call(job: dict[str, Any]) -> str:
    """The call that adds the job (the id it returns is the job's)."""
    if not job["scheduled"]:
        raise SchemaError(
            f"job {job['job_id']} ({job['procedure']}) is paused (scheduled = false), "
            "which no add_* call declares: resume it with alter_job or delete it"
        )
    config = {k: v for k, v in (job["config"] or {}).items() if k not in INTERNAL_CONFIG}
    schedule = f"schedule_interval => {interval(job['schedule_interval'])}"
    if job["initial_start"] is not None:  # a fixed schedule, started at that instant
        schedule += f", initial_start => {literal(job['initial_start'].isoformat())}"
    if job["proc_schema"] != TIMESCALE_FUNCTIONS:
        arguments = [literal(job["procedure"]), literal(job["schedule_interval"])]
        if config:
            arguments.append(f"config => {literal(json.dumps(config, sort_keys=True))}")
        if job["initial_start"] is not None:
            arguments.append(f"initial_start => {literal(job['initial_start'].isoformat())}")
        return f"add_job({', '.join(arguments)})"
    if job["proc_name"] not in POLICIES:
        raise SchemaError(
            f"job {job['job_id']} ({job['procedure']}) on {job['relation']} has no declaration"
        )
    function, keys = POLICIES[job["proc_name"]]
    unknown = sorted(set(config) - set(keys))
    if unknown:
        raise SchemaError(
            f"{function} job {job['job_id']} on {job['relation']}: settings {unknown} "
            "cannot be declared"
        )
    arguments = [literal(job["relation"])]
    for key in keys:
        if key in config or job["proc_name"] == "policy_refresh_continuous_aggregate":
            value = config.get(key)
            arguments.append(
                f"{key} => {literal(value) if key in TEXT_ARGUMENTS else interval(value)}"
            )
    if job["proc_name"] != "policy_reorder":
        arguments.append(schedule)
    elif job["schedule_interval"] not in REORDER_SCHEDULES:
        raise SchemaError(
            f"reorder policy job {job['job_id']} on {job['relation']}: add_reorder_policy "
            f"takes no schedule, and this one runs every {job['schedule_interval']}"
        )
    return f"{function}({', '.join(arguments)})"
