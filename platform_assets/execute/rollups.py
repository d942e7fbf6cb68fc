"""A continuous aggregate on plain PostgreSQL: a materialized view refreshed CONCURRENTLY.

The view is the aggregate's own query rendered from its parsed tree, with the
TimescaleDB options removed and `time_bucket` translated: `date_bin` with
TimescaleDB's default origin (2000-01-03, a Monday) for widths without months,
`date_trunc` (in UTC for timestamptz, as TimescaleDB buckets) for 1 month and
1 year. A unique index on the GROUP BY columns lets it refresh CONCURRENTLY (readers
are never blocked). Its refresh policy becomes a Dagster schedule (maintenance.py)
that refreshes the whole view: a materialized view has no refresh window.
"""

from __future__ import annotations

from psycopg import sql
from sqlglot import exp

from platform_assets.model.declarations import ContinuousAggregate, TableDefinition
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.intervals import interval_seconds
from platform_assets.model.naming import asset_key_part
from platform_assets.model.objects import ObjectKind, SchemaObject
from platform_assets.parse.calls import bound_arguments, time_bucket
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import name_identifier

TIMESCALE_ORIGIN = "2000-01-03 00:00:00"
MAX_IDENTIFIER = 63


def group_index_name(aggregate: SchemaObject, view: str | None = None) -> str:
    """The unique group index of the aggregate's view (or of the view built as `view`)."""
    name = view or aggregate.name
    return f"{name[: MAX_IDENTIFIER - len('_group_key')]}_group_key"


def refresh_job_name(aggregate: SchemaObject) -> str:
    """`refresh_<schema>__<view>`, the parts as in the view's asset key (a valid job name)."""
    parts = (asset_key_part(aggregate.schema), asset_key_part(aggregate.name))
    return f"refresh_{parts[0]}__{parts[1]}"


def refresh_schedule_name(aggregate: SchemaObject) -> str:
    return f"{refresh_job_name(aggregate)}_schedule"


def cron_for(schedule_interval: object) -> str:
    """The cron schedule closest to (never slower than) a refresh policy's interval."""
    seconds = interval_seconds(schedule_interval or "1 hour")
    minutes = max(1, int(seconds // 60))
    if minutes < 60:
        step = max(d for d in range(1, minutes + 1) if 60 % d == 0)
        return "* * * * *" if step == 1 else f"*/{step} * * * *"
    hours = minutes // 60
    if hours < 24:
        step = max(d for d in range(1, hours + 1) if 24 % d == 0)
        return "0 * * * *" if step == 1 else f"0 */{step} * * *"
    return "0 0 * * *"


def materialized_view_sql(
    aggregate: SchemaObject, graph: SchemaGraph, name: str | None = None
) -> str:
    """CREATE MATERIALIZED VIEW ... WITH DATA for the aggregate (populated, so the first
    CONCURRENTLY refresh can run), under another `name` in its schema when given."""
    tree = materialized_view_tree(aggregate, graph)
    return (renamed(tree, name) if name else tree).sql(DIALECT, comments=False)


def materialized_view_tree(aggregate: SchemaObject, graph: SchemaGraph) -> exp.Create:
    """The aggregate's CREATE as a plain materialized view: TimescaleDB options left
    out, time_bucket translated."""
    tree = aggregate.definition.tree.copy()
    properties = tree.args.get("properties")
    if properties is not None:
        kept = [
            prop
            for prop in properties.expressions
            if not isinstance(prop, exp.WithDataProperty) and not _timescale_option(prop)
        ]
        properties.set("expressions", kept)
    tree.set("expression", translated_query(aggregate, graph))
    group_key(aggregate)  # fails early, naming the object, if it cannot be keyed
    return tree


def translated_query(aggregate: SchemaObject, graph: SchemaGraph) -> exp.Select:
    """The aggregate's SELECT with `time_bucket` translated, as the materialized view runs it."""
    query = aggregate.definition.tree.expression.copy()
    if not isinstance(query, exp.Select):
        raise SchemaError(
            "a continuous aggregate's query must be a SELECT",
            aggregate.location,
            aggregate.describe(),
        )
    for call in list(query.find_all(exp.Anonymous)):
        if call.name.lower() == "time_bucket":
            call.replace(_translated_bucket(call, query, aggregate, graph))
    return query


def renamed(create: exp.Create, name: str) -> exp.Create:
    """A copy of an aggregate's CREATE that creates it under another name, same schema."""
    tree = create.copy()
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    target.set("this", name_identifier(name))
    return tree


def group_key(aggregate: SchemaObject) -> list[str]:
    """The view's output columns that its GROUP BY makes unique."""
    declared = aggregate.declared(ContinuousAggregate)
    if declared.group_columns is None:
        raise SchemaError(
            declared.group_problem or "the aggregate has no group key",
            aggregate.location,
            aggregate.describe(),
        )
    return list(declared.group_columns)


def unique_index_sql(aggregate: SchemaObject, name: str | None = None) -> sql.Composed:
    """The unique index on the view's group key (of the view built as `name`, when given)."""
    return sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(
        sql.Identifier(group_index_name(aggregate, name)),
        sql.Identifier(aggregate.schema, name or aggregate.name),
        sql.SQL(", ").join(sql.Identifier(name) for name in group_key(aggregate)),
    )


def refresh_sql(aggregate: SchemaObject) -> sql.Composed:
    return sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(
        sql.Identifier(aggregate.schema, aggregate.name)
    )


def _timescale_option(prop: exp.Expr) -> bool:
    if type(prop) is not exp.Property:
        return False
    key = prop.this.sql(DIALECT).lower() if isinstance(prop.this, exp.Expr) else str(prop.this)
    return key.startswith(("timescaledb.", "tsdb."))


def _translated_bucket(
    call: exp.Anonymous, query: exp.Select, aggregate: SchemaObject, graph: SchemaGraph
) -> exp.Expr:
    bucket = time_bucket(call)
    width_text = bucket.width
    if not bucket.plain or not isinstance(width_text, str):
        raise SchemaError(
            "time_bucket with an origin, offset or time zone, or a width that is not an "
            "interval literal, has no translation on plain PostgreSQL",
            aggregate.location,
            aggregate.describe(),
        )
    arguments = bound_arguments(call)
    width, source = arguments["bucket_width"].copy(), arguments["ts"].copy()
    kind = _column_type(source, query, aggregate, graph)
    words = width_text.lower().split()
    calendar = [w for w in words[1::2] if w.startswith(("mon", "year"))]
    if calendar:
        if len(words) != 2 or float(words[0]) != 1:
            raise SchemaError(
                f"time_bucket({width_text!r}): only 1 month and 1 year buckets translate "
                "to plain PostgreSQL (date_trunc)",
                aggregate.location,
                aggregate.describe(),
            )
        field = exp.Literal.string("month" if calendar[0].startswith("mon") else "year")
        if kind == exp.DType.TIMESTAMPTZ:
            return exp.Anonymous(
                this="date_trunc", expressions=[field, source, exp.Literal.string("UTC")]
            )
        truncated = exp.Anonymous(this="date_trunc", expressions=[field, source])
        return exp.cast(truncated, "date") if kind == exp.DType.DATE else truncated
    if kind == exp.DType.TIMESTAMPTZ:
        origin = exp.cast(exp.Literal.string(TIMESCALE_ORIGIN + "+00"), "timestamptz")
        return exp.Anonymous(this="date_bin", expressions=[width, source, origin])
    origin = exp.cast(exp.Literal.string(TIMESCALE_ORIGIN), "timestamp")
    if kind == exp.DType.DATE:
        binned = exp.Anonymous(
            this="date_bin", expressions=[width, exp.cast(source, "timestamp"), origin]
        )
        return exp.cast(binned, "date")
    return exp.Anonymous(this="date_bin", expressions=[width, source, origin])


def _column_type(
    source: exp.Expr, query: exp.Select, aggregate: SchemaObject, graph: SchemaGraph
) -> exp.DType:
    """The declared type of the bucketed column (timestamptz when it cannot be told)."""
    if not isinstance(source, exp.Column):
        return exp.DType.TIMESTAMPTZ
    for table in query.find_all(exp.Table):
        if source.table and source.table not in (table.alias_or_name, table.name):
            continue
        schema = table.db or aggregate.schema
        relation = graph.relation(schema, table.name)
        if relation is None or relation.kind != ObjectKind.TABLE:
            continue
        column = relation.declared(TableDefinition).column(source.name)
        if column is not None and column.data_type is not None:
            if column.data_type.this in (exp.DType.TIMESTAMP, exp.DType.DATE):
                return column.data_type.this
            return exp.DType.TIMESTAMPTZ
    return exp.DType.TIMESTAMPTZ
