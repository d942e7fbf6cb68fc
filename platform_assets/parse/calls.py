"""Function calls of schema files read by parameter name: the one place that knows the
signatures of TimescaleDB's calls, so positional and named arguments read alike."""

from __future__ import annotations

from sqlglot import exp

from platform_assets.model.declarations import TimeBucket
from platform_assets.model.errors import SchemaError
from platform_assets.parse.dialect import DIALECT

# Parameters in positional order, as TimescaleDB 2.13-2.23 declares them.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "create_hypertable": (
        "relation", "dimension", "create_default_indexes", "if_not_exists", "migrate_data",
    ),
    # The form before 2.13: a time column name where the dimension builder now goes.
    "create_hypertable (legacy)": (
        "relation", "time_column_name", "partitioning_column", "number_partitions",
        "associated_schema_name", "associated_table_prefix", "chunk_time_interval",
        "create_default_indexes", "if_not_exists", "partitioning_func", "migrate_data",
        "chunk_target_size", "chunk_sizing_func", "time_partitioning_func",
    ),
    "add_dimension": ("hypertable", "dimension", "if_not_exists"),
    "add_dimension (legacy)": (
        "hypertable", "column_name", "number_partitions", "chunk_time_interval",
        "partitioning_func", "if_not_exists",
    ),
    "by_range": ("column_name", "partition_interval", "partition_func"),
    "by_hash": ("column_name", "number_partitions", "partition_func"),
    "add_compression_policy": (
        "hypertable", "compress_after", "if_not_exists", "schedule_interval", "initial_start",
        "timezone", "compress_created_before", "hypercore_use_access_method",
    ),
    "add_columnstore_policy": (
        "hypertable", "after", "if_not_exists", "schedule_interval", "initial_start",
        "timezone", "created_before", "hypercore_use_access_method",
    ),
    "add_retention_policy": (
        "relation", "drop_after", "if_not_exists", "schedule_interval", "initial_start",
        "timezone", "drop_created_before",
    ),
    "add_reorder_policy": (
        "hypertable", "index_name", "if_not_exists", "initial_start", "timezone",
    ),
    "add_continuous_aggregate_policy": (
        "continuous_aggregate", "start_offset", "end_offset", "schedule_interval",
        "if_not_exists", "initial_start", "timezone", "include_tiered_data",
        "buckets_per_batch", "max_batches_per_execution", "refresh_newest_first",
    ),
    "set_integer_now_func": ("hypertable", "integer_now_func", "replace_if_exists"),
    "add_job": (
        "proc", "schedule_interval", "config", "initial_start", "scheduled", "check_config",
        "fixed_schedule", "timezone", "job_name",
    ),
    "alter_job": (
        "job_id", "schedule_interval", "max_runtime", "max_retries", "retry_period",
        "scheduled", "config", "next_start", "if_exists", "check_config", "fixed_schedule",
        "initial_start", "timezone", "job_name",
    ),
    "time_bucket": ("bucket_width", "ts", "offset"),
}  # fmt: skip
_LEGACY = {"create_hypertable", "add_dimension"}


def signature(call: exp.Anonymous) -> tuple[str, ...]:
    """The parameter names of a call; a string second argument selects the legacy form
    of create_hypertable and add_dimension."""
    function = call.name.lower()
    positional = [a for a in call.expressions if not isinstance(a, exp.Kwarg)]
    if function in _LEGACY and len(positional) > 1 and isinstance(positional[1], exp.Literal):
        return SIGNATURES[f"{function} (legacy)"]
    return SIGNATURES.get(function, ())


def bound_arguments(call: exp.Anonymous) -> dict[str, exp.Expr]:
    """A call's arguments by parameter name, as parsed."""
    names = signature(call)
    bound: dict[str, exp.Expr] = {}
    index = 0
    for arg in call.expressions:
        if isinstance(arg, exp.Kwarg):
            bound[arg.this.name.lower()] = arg.expression
            continue
        if index >= len(names):
            raise SchemaError(f"{call.name}: too many arguments ({arg.sql(DIALECT)})")
        bound[names[index]] = arg
        index += 1
    return bound


def call_arguments(call: exp.Anonymous) -> dict[str, object]:
    """A call's arguments by parameter name, each as `argument_value` reads it."""
    return {name: argument_value(node) for name, node in bound_arguments(call).items()}


def argument_value(node: exp.Expr) -> object:
    """A literal argument as a Python value (an interval as its text, NULL as None);
    any other expression as its SQL text."""
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        return node.name if node.is_string else node.to_py()
    if isinstance(node, exp.Interval):
        unit = node.unit.name if node.unit else ""
        return f"{node.this.name} {unit}".strip()
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return node.this.name
    return node.sql(DIALECT)


def interval_literal(node: exp.Expr) -> str | None:
    """`INTERVAL '1 hour'`, `INTERVAL '1' HOUR` or `'1 hour'::interval` as '1 hour'."""
    while isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.Interval):
        unit = node.args.get("unit")
        return f"{node.this.name} {unit.name}" if unit else node.this.name
    return node.name if isinstance(node, exp.Literal) and node.is_string else None


def time_bucket(call: exp.Anonymous, alias: str | None = None) -> TimeBucket:
    """`time_bucket(width, ts [, offset | origin | timezone ...])`, read by name."""
    positional = [a for a in call.expressions if not isinstance(a, exp.Kwarg)]
    named = {
        a.this.name.lower(): a.expression for a in call.expressions if isinstance(a, exp.Kwarg)
    }
    width_node = positional[0] if positional else named.get("bucket_width")
    width: str | int | None = None
    if width_node is not None:
        width = interval_literal(width_node)
        if width is None and isinstance(width_node, exp.Literal) and width_node.is_int:
            width = int(width_node.name)
    column = positional[1] if len(positional) > 1 else named.get("ts")
    extra = {name: argument_value(value) for name, value in named.items()}
    third = positional[2] if len(positional) > 2 else None
    return TimeBucket(
        width=width,
        column=column.copy() if column is not None else None,
        alias=alias,
        origin=_text(extra.get("origin")),
        offset=_text(extra.get("offset", argument_value(third) if third is not None else None)),
        timezone=_text(extra.get("timezone")),
        plain=len(call.expressions) == 2 and not named,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def time_buckets(query: exp.Expr) -> tuple[TimeBucket, ...]:
    """Every time_bucket call of a query, in tree order."""
    return tuple(
        time_bucket(call)
        for call in query.find_all(exp.Anonymous)
        if call.name.lower() == "time_bucket"
    )


def query_bucket(query: exp.Expr | None) -> TimeBucket | None:
    """The time bucket of an aggregate's query (declared, or as the server renders the
    live one): the first projection `time_bucket(width, column) [AS alias]` with an
    interval width and a column."""
    if not isinstance(query, exp.Select):
        return None
    for projection in query.expressions:
        call = projection.this if isinstance(projection, exp.Alias) else projection
        if not (isinstance(call, exp.Anonymous) and call.name.lower() == "time_bucket"):
            continue
        if len(call.expressions) < 2:
            continue
        bucket = time_bucket(call, projection.alias_or_name)
        if isinstance(bucket.width, str) and bucket.width and isinstance(bucket.column, exp.Column):
            return bucket
    return None


def named_argument(tree: exp.Expr, name: str) -> exp.Kwarg | None:
    """The first `name => value` argument written anywhere in a statement."""
    return next((k for k in tree.find_all(exp.Kwarg) if k.this.name.lower() == name), None)
