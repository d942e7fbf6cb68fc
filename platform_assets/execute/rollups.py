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

from dataclasses import dataclass

from psycopg import sql
from sqlglot import exp

from platform_assets.execute.partition_rules import interval_seconds
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKind, SchemaObject
from platform_assets.parse.dialect import DIALECT

TIMESCALE_ORIGIN = "2000-01-03 00:00:00"
MAX_IDENTIFIER = 63


def group_index_name(aggregate: SchemaObject, view: str | None = None) -> str:
    """The unique group index of the aggregate's view (or of the view built as `view`)."""
    name = view or aggregate.name
    return f"{name[: MAX_IDENTIFIER - len('_group_key')]}_group_key"


def refresh_job_name(aggregate: SchemaObject) -> str:
    return f"refresh_{aggregate.schema}__{aggregate.name}"


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
    target.set("this", exp.to_identifier(name))
    return tree


@dataclass
class Bucketing:
    """How an aggregate buckets time: `time_bucket(width, column) AS alias`."""

    width: str
    column: exp.Column  # the raw time column, as the query names it
    alias: str


def bucketing(query: exp.Expr | None) -> Bucketing | None:
    """The time bucket of an aggregate's query (declared, or as the server renders
    the live one), read with sqlglot."""
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


def interval_text(node: exp.Expr) -> str | None:
    """`INTERVAL '1 hour'`, `INTERVAL '1' HOUR` or `'1 hour'::interval` as '1 hour'."""
    while isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.Interval):
        unit = node.args.get("unit")
        return f"{node.this.name} {unit.name}" if unit else node.this.name
    return node.name if isinstance(node, exp.Literal) and node.is_string else None


def group_key(aggregate: SchemaObject) -> list[str]:
    """The view's output columns that its GROUP BY makes unique."""
    query = aggregate.definition.tree.expression
    group = query.args.get("group") if isinstance(query, exp.Select) else None
    if group is None:
        raise SchemaError(
            "an aggregate without GROUP BY cannot have the unique index a CONCURRENTLY "
            "refresh needs",
            aggregate.location,
            aggregate.describe(),
        )
    names: list[str] = []
    for item in group.expressions:
        names.append(_output_name(item, query, aggregate))
    return names


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


def _output_name(item: exp.Expr, query: exp.Select, aggregate: SchemaObject) -> str:
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
    raise SchemaError(
        f"GROUP BY {item.sql(DIALECT)} is not an output column: the unique index a "
        "CONCURRENTLY refresh needs can only use output columns",
        aggregate.location,
        aggregate.describe(),
    )


def _translated_bucket(
    call: exp.Anonymous, query: exp.Select, aggregate: SchemaObject, graph: SchemaGraph
) -> exp.Expr:
    args = call.expressions
    width_text = interval_text(args[0]) if args else None
    if len(args) != 2 or any(isinstance(a, exp.Kwarg) for a in args) or width_text is None:
        raise SchemaError(
            "time_bucket with an origin, offset or time zone, or a width that is not an "
            "interval literal, has no translation on plain PostgreSQL",
            aggregate.location,
            aggregate.describe(),
        )
    width, source = args[0].copy(), args[1].copy()
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
        create = relation.definition.tree.this
        for column in create.expressions if isinstance(create, exp.Schema) else []:
            if isinstance(column, exp.ColumnDef) and column.name == source.name:
                kind = column.args.get("kind")
                if isinstance(kind, exp.DataType):
                    if kind.this in (exp.DType.TIMESTAMP, exp.DType.DATE):
                        return kind.this
                    return exp.DType.TIMESTAMPTZ
    return exp.DType.TIMESTAMPTZ
