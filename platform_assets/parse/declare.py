"""The typed declarations of TimescaleDB calls, settings and continuous aggregates,
built from their parsed statements (tables: `parse/tables.py`)."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from platform_assets.model.declarations import (
    ColumnstoreSettings,
    CompressionPolicy,
    ContinuousAggregate,
    Dimension,
    DimensionKind,
    HypertableConversion,
    JobLimits,
    Policy,
    RefreshPolicy,
    ReorderPolicy,
    RetentionPolicy,
)
from platform_assets.model.errors import SchemaError
from platform_assets.model.intervals import Interval
from platform_assets.parse.calls import bound_arguments, call_arguments, query_bucket, time_buckets
from platform_assets.parse.dialect import DIALECT

_POLICY_SETTINGS = {"if_not_exists", "schedule_interval", "initial_start", "timezone"}
_FIRST_ARGUMENTS = {"relation", "hypertable", "continuous_aggregate"}
_LIMITS = ("max_runtime", "max_retries", "retry_period")


def hypertable_conversion(call: exp.Anonymous) -> HypertableConversion:
    """`create_hypertable(rel, by_range(...))`, or the legacy `create_hypertable(rel,
    'time' [, 'space', partitions], chunk_time_interval => ...)`, positional or named."""
    bound = bound_arguments(call)
    args = call_arguments(call)
    builder = bound.get("dimension")
    if isinstance(builder, exp.Anonymous):
        time = dimension(builder)
        if time.kind != DimensionKind.RANGE:
            raise SchemaError("create_hypertable: the first dimension must be by_range(...)")
        if time.interval is None and args.get("chunk_time_interval") is not None:
            time = replace(time, interval=_interval(args["chunk_time_interval"]))
        return HypertableConversion(
            time=time,
            create_default_indexes=_flag(args.get("create_default_indexes")),
            if_not_exists=_flag(args.get("if_not_exists")),
            migrate_data=_flag(args.get("migrate_data")),
        )
    column = args.get("time_column_name")
    if not isinstance(column, str):
        raise SchemaError("create_hypertable: no time column could be read")
    time = Dimension(
        DimensionKind.RANGE,
        column,
        _interval(args.get("chunk_time_interval")),
        partitioning_func=_text(args.get("time_partitioning_func")),
    )
    space: tuple[Dimension, ...] = ()
    partitioning = args.get("partitioning_column")
    if isinstance(partitioning, str):
        space = (
            Dimension(
                DimensionKind.HASH,
                partitioning,
                partitions=_count(args.get("number_partitions")),
                partitioning_func=_text(args.get("partitioning_func")),
            ),
        )
    read = {
        "relation", "time_column_name", "partitioning_column", "number_partitions",
        "chunk_time_interval", "partitioning_func", "time_partitioning_func",
        "create_default_indexes", "if_not_exists", "migrate_data",
    }  # fmt: skip
    return HypertableConversion(
        time=time,
        space=space,
        create_default_indexes=_flag(args.get("create_default_indexes")),
        if_not_exists=_flag(args.get("if_not_exists")),
        migrate_data=_flag(args.get("migrate_data")),
        options=tuple((k, v) for k, v in args.items() if k not in read),
    )


def added_dimension(call: exp.Anonymous) -> Dimension:
    """`add_dimension(rel, by_hash('col', n) | by_range('col', interval))`, or the legacy
    `add_dimension(rel, 'col', number_partitions | chunk_time_interval => ...)`."""
    bound = bound_arguments(call)
    builder = bound.get("dimension")
    if isinstance(builder, exp.Anonymous):
        return dimension(builder)
    args = call_arguments(call)
    column = args.get("column_name")
    if not isinstance(column, str):
        raise SchemaError("add_dimension: no column could be read")
    func = _text(args.get("partitioning_func"))
    if args.get("number_partitions") is not None:
        partitions = _count(args["number_partitions"])
        return Dimension(DimensionKind.HASH, column, partitions=partitions, partitioning_func=func)
    interval = _interval(args.get("chunk_time_interval"))
    return Dimension(DimensionKind.RANGE, column, interval, partitioning_func=func)


def dimension(builder: exp.Anonymous) -> Dimension:
    """`by_range(column [, interval])` or `by_hash(column, partitions)`."""
    name = builder.name.lower()
    if name not in ("by_range", "by_hash"):
        raise SchemaError(f"{builder.name}: expected by_range(...) or by_hash(...)")
    args = call_arguments(builder)
    column = args.get("column_name")
    if not isinstance(column, str):
        raise SchemaError(f"{name}: the column must be a string literal")
    func = _text(args.get("partition_func"))
    if name == "by_hash":
        partitions = _count(args.get("number_partitions"))
        return Dimension(DimensionKind.HASH, column, partitions=partitions, partitioning_func=func)
    interval = _interval(args.get("partition_interval"))
    return Dimension(DimensionKind.RANGE, column, interval, partitioning_func=func)


def policy(call: exp.Anonymous) -> Policy:
    """Any add_*_policy call, its settings by name whether written positionally or not."""
    function = call.name.lower()
    args = call_arguments(call)
    common = {
        "function": function,
        "if_not_exists": _flag(args.get("if_not_exists")),
        "schedule_interval": _interval(args.get("schedule_interval")),
        "initial_start": _text(args.get("initial_start")),
        "timezone": _text(args.get("timezone")),
    }
    if function in ("add_compression_policy", "add_columnstore_policy"):
        return CompressionPolicy(
            **common,
            after=_interval(_first(args, "compress_after", "after")),
            created_before=_interval(_first(args, "compress_created_before", "created_before")),
        )
    if function == "add_retention_policy":
        return RetentionPolicy(
            **common,
            drop_after=_interval(args.get("drop_after")),
            drop_created_before=_interval(args.get("drop_created_before")),
        )
    if function == "add_reorder_policy":
        return ReorderPolicy(**common, index_name=_text(args.get("index_name")))
    read = _POLICY_SETTINGS | _FIRST_ARGUMENTS | {"start_offset", "end_offset"}
    return RefreshPolicy(
        **common,
        start_offset=_interval(args.get("start_offset")),
        end_offset=_interval(args.get("end_offset")),
        options=tuple((k, v) for k, v in args.items() if k not in read),
    )


def job_limits(alter_job: exp.Anonymous) -> JobLimits:
    """The run limits of `alter_job(add_*(...), max_runtime => ..., max_retries => ...,
    retry_period => ...)`; any other setting belongs in the add call and is refused."""
    args = call_arguments(alter_job)
    others = sorted(set(args) - {"job_id", *_LIMITS})
    if others:
        raise SchemaError(
            f"alter_job around an add call declares only {', '.join(_LIMITS)}: "
            f"{', '.join(others)} belong in the add call (or cannot be declared)"
        )
    retries = args.get("max_retries")
    if retries is not None and not isinstance(retries, int):
        raise SchemaError(f"alter_job: max_retries must be an integer, not {retries}")
    return JobLimits(
        max_runtime=_interval(args.get("max_runtime")),
        max_retries=retries,
        retry_period=_interval(args.get("retry_period")),
    )


def relation_argument(call: exp.Anonymous) -> object:
    """The relation a TimescaleDB call is about: its first parameter, whatever its name."""
    args = call_arguments(call)
    return next((args[name] for name in _FIRST_ARGUMENTS if name in args), None)


def columnstore_settings(options: dict[str, str]) -> ColumnstoreSettings:
    """The `timescaledb.` / `tsdb.` options of an ALTER TABLE ... SET (...), prefix removed."""
    return ColumnstoreSettings(
        options=tuple(options.items()),
        enabled=_flag(_first(options, "compress", "enable_columnstore", "columnstore")),
        segmentby=_text(_first(options, "compress_segmentby", "segmentby")),
        orderby=_text(_first(options, "compress_orderby", "orderby")),
        chunk_interval=_text(
            _first(options, "compress_chunk_time_interval", "compress_chunk_interval")
        ),
    )


def continuous_aggregate(create: exp.Create) -> ContinuousAggregate:
    """A continuous aggregate's bucket, group key, sources and options."""
    query = create.expression
    columns, problem = group_columns(query)
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)} if query else set()
    sources = tuple(
        dict.fromkeys(
            (table.db or None, table.name)
            for table in (query.find_all(exp.Table) if query else [])
            if table.name and not (not table.db and table.name in ctes)
        )
    )
    options = {}
    with_data = None
    for prop in create.find_all(exp.Property, exp.WithDataProperty):
        if isinstance(prop, exp.WithDataProperty):
            with_data = not prop.args.get("no")
        elif type(prop) is exp.Property:
            key = prop.this.sql(DIALECT).lower() if isinstance(prop.this, exp.Expr) else prop.name
            value = prop.args.get("value")
            options[key.split(".", 1)[-1]] = value.sql(DIALECT) if value is not None else "true"
    return ContinuousAggregate(
        bucket=query_bucket(query),
        buckets=time_buckets(query) if query is not None else (),
        group_columns=columns,
        group_problem=problem,
        sources=sources,
        materialized_only=_flag(options.get("materialized_only")),
        create_group_indexes=_flag(options.get("create_group_indexes")),
        finalized=_flag(options.get("finalized")),
        with_data=with_data,
    )


def group_columns(query: exp.Expr | None) -> tuple[tuple[str, ...] | None, str | None]:
    """The output columns a query's GROUP BY makes unique, or None and why not."""
    group = query.args.get("group") if isinstance(query, exp.Select) else None
    if group is None:
        return None, (
            "an aggregate without GROUP BY cannot have the unique index a CONCURRENTLY "
            "refresh needs"
        )
    assert isinstance(query, exp.Select)
    names = []
    for item in group.expressions:
        name = _output_name(item, query)
        if name is None:
            return None, (
                f"GROUP BY {item.sql(DIALECT)} is not an output column: the unique index a "
                "CONCURRENTLY refresh needs can only use output columns"
            )
        names.append(name)
    return tuple(names), None


def _output_name(item: exp.Expr, query: exp.Select) -> str | None:
    if isinstance(item, exp.Literal) and item.is_int:  # GROUP BY 1: the first output column
        position = int(item.name) - 1
        if 0 <= position < len(query.expressions):
            return query.expressions[position].alias_or_name
    for projection in query.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(item, exp.Column) and not item.table and item.name == projection.alias:
            return projection.alias
        if inner == item:
            return projection.alias_or_name
    return None


def _first(values: dict, *names: str) -> object:
    return next((values[n] for n in names if values.get(n) is not None), None)


def _interval(value: object) -> Interval | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def _count(value: object) -> int:
    """A number of partitions; 0 when not given (TimescaleDB then refuses the call)."""
    if value is None:
        return 0
    try:
        return int(str(value))
    except ValueError:
        raise SchemaError(f"number_partitions must be an integer, not {value}") from None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _flag(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip("'").lower() in ("true", "on", "yes", "1")
