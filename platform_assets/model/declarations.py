"""Typed declarations: what an object's SQL declares, read once when parsing.

Every stage after parsing (diff, execute, lint, health, dagster) reads these,
never the raw call arguments or the CREATE TABLE tree. Settings keep the text
they are written with (an interval as `'1 day'`, an integer for integer time),
so a plan or a message quotes the user's own spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from sqlglot import exp

from platform_assets.model.intervals import Interval

# -- hypertables ------------------------------------------------------------------------


class DimensionKind(StrEnum):
    RANGE = "range"
    HASH = "hash"


@dataclass(frozen=True)
class Dimension:
    """One partitioning dimension: `by_range(column, interval)` or `by_hash(column, n)`."""

    kind: DimensionKind
    column: str
    interval: Interval | None = None  # range: the chunk interval
    partitions: int | None = None  # hash: the number of partitions
    partitioning_func: str | None = None


@dataclass(frozen=True)
class HypertableConversion:
    """`create_hypertable` (current or legacy form) and its `add_dimension` calls."""

    time: Dimension
    # Further dimensions declared by create_hypertable itself (the legacy
    # partitioning_column) and then by add_dimension, one per later statement.
    space: tuple[Dimension, ...] = ()
    added: tuple[Dimension, ...] = ()
    create_default_indexes: bool | None = None
    if_not_exists: bool | None = None
    migrate_data: bool | None = None
    # The legacy form's other arguments (associated_schema_name, chunk_target_size, ...).
    options: tuple[tuple[str, object], ...] = ()
    # set_integer_now_func: the function giving "now" of an integer time column.
    integer_now_func: str | None = None

    @property
    def time_column(self) -> str:
        return self.time.column

    @property
    def chunk_interval(self) -> Interval | None:
        return self.time.interval

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        return (self.time, *self.space, *self.added)

    @property
    def partition_columns(self) -> list[str]:
        return [dimension.column for dimension in self.dimensions]

    @property
    def hash_dimensions(self) -> list[Dimension]:
        return [d for d in (*self.space, *self.added) if d.kind == DimensionKind.HASH]

    def with_dimension(self, dimension: Dimension) -> HypertableConversion:
        return replace(self, added=(*self.added, dimension))


@dataclass(frozen=True)
class ColumnstoreSettings:
    """`ALTER TABLE ... SET (timescaledb.compress, timescaledb.compress_segmentby = ...)`
    (or the columnstore names of 2.18+)."""

    # Every timescaledb./tsdb. option as written, in order, without its prefix.
    options: tuple[tuple[str, str], ...]
    enabled: bool | None = None
    segmentby: str | None = None
    orderby: str | None = None
    chunk_interval: str | None = None


# -- policies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobLimits:
    """A job's run limits, declared by wrapping the call that adds it:
    `SELECT alter_job(add_retention_policy(...), max_runtime => ..., max_retries => ...,
    retry_period => ...)`. None: not declared, whatever the job has is kept."""

    max_runtime: Interval | None = None
    max_retries: int | None = None
    retry_period: Interval | None = None

    def declared(self) -> dict[str, Interval]:
        """The limits declared, by alter_job's parameter name."""
        values = {
            "max_runtime": self.max_runtime,
            "max_retries": self.max_retries,
            "retry_period": self.retry_period,
        }
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What every policy call takes besides its own settings."""

    function: str  # the call as written, e.g. add_compression_policy
    if_not_exists: bool | None = None
    schedule_interval: Interval | None = None
    initial_start: str | None = None
    timezone: str | None = None
    limits: JobLimits = JobLimits()

    @property
    def job_config(self) -> dict[str, object]:
        """The settings TimescaleDB keeps in the job's config, by config key."""
        return {}


@dataclass(frozen=True, kw_only=True)
class CompressionPolicy(Policy):
    """`add_compression_policy(rel, compress_after)` or `add_columnstore_policy(rel, after)`."""

    after: Interval | None = None
    created_before: Interval | None = None

    @property
    def job_config(self) -> dict[str, object]:
        return {"compress_after": self.after}


@dataclass(frozen=True, kw_only=True)
class RetentionPolicy(Policy):
    drop_after: Interval | None = None
    drop_created_before: Interval | None = None

    @property
    def job_config(self) -> dict[str, object]:
        return {"drop_after": self.drop_after}


@dataclass(frozen=True, kw_only=True)
class ReorderPolicy(Policy):
    index_name: str | None = None

    @property
    def job_config(self) -> dict[str, object]:
        return {"index_name": self.index_name}


@dataclass(frozen=True, kw_only=True)
class RefreshPolicy(Policy):
    """`add_continuous_aggregate_policy(aggregate, start_offset, end_offset, schedule)`."""

    start_offset: Interval | None = None
    end_offset: Interval | None = None
    # include_tiered_data, buckets_per_batch, ... as written.
    options: tuple[tuple[str, object], ...] = ()

    @property
    def job_config(self) -> dict[str, object]:
        return {"start_offset": self.start_offset, "end_offset": self.end_offset}


# -- continuous aggregates ----------------------------------------------------------------


@dataclass(frozen=True)
class TimeBucket:
    """`time_bucket(width, column [, offset | origin | timezone])`."""

    width: Interval | None  # None when the width is not a literal
    column: exp.Expr | None  # the raw time column, as the query names it
    alias: str | None = None  # the output column, for the bucket of a projection
    origin: str | None = None
    offset: str | None = None
    timezone: str | None = None
    plain: bool = True  # exactly width and column, nothing else


@dataclass(frozen=True)
class ContinuousAggregate:
    """`CREATE MATERIALIZED VIEW ... WITH (timescaledb.continuous) AS SELECT ...`."""

    # The projection that buckets time, when the query has one with an interval width.
    bucket: TimeBucket | None
    # Every time_bucket call of the query, in tree order.
    buckets: tuple[TimeBucket, ...]
    # The output columns the GROUP BY makes unique, or None with the reason it cannot.
    group_columns: tuple[str, ...] | None
    group_problem: str | None
    sources: tuple[tuple[str | None, str], ...]  # (schema, name) of the relations read
    materialized_only: bool | None = None
    create_group_indexes: bool | None = None
    finalized: bool | None = None
    with_data: bool | None = None  # WITH DATA / WITH NO DATA as written


# -- tables -----------------------------------------------------------------------------


class KeyKind(StrEnum):
    PRIMARY = "primary"
    UNIQUE = "unique"
    FOREIGN = "foreign"
    CHECK = "check"
    EXCLUSION = "exclusion"


@dataclass(frozen=True)
class Column:
    """One column of a CREATE TABLE."""

    name: str
    data_type: exp.DataType | None
    # NOT NULL as the server makes it: written, or part of the primary key.
    not_null: bool
    default: exp.Expr | None
    identity: str  # "a" GENERATED ALWAYS, "d" BY DEFAULT, "" not an identity column
    generated: exp.Expr | None  # GENERATED ALWAYS AS (expression) STORED
    # As written, every inline constraint included (rendered for ADD COLUMN).
    definition: exp.ColumnDef
    # Only what shapes the column (type, NOT NULL, default, identity): rendered to
    # let the server spell the declaration.
    shape: exp.ColumnDef
    line: int | None = None
    statement: int = 0  # 0: in the CREATE TABLE; else the ALTER TABLE ... ADD COLUMN's index
    # `data_type` as sqlglot writes it (DIALECT), "" without one: written once at compile
    # time, so a load from the graph cache does not generate SQL for every column.
    type_sql: str = ""


@dataclass(frozen=True)
class TableKey:
    """A constraint of a table, column-level ones in their table-level form."""

    kind: KeyKind
    name: str | None
    columns: tuple[str, ...]  # as written, in order
    node: exp.Expr  # the table-level definition: PRIMARY KEY (...), CHECK (...), ...
    statement: int  # 0: in the CREATE TABLE; else the ALTER TABLE amendment's index
    line: int | None = None
    referenced: tuple[str | None, str] | None = None  # a foreign key's (schema, table)
    column_level: bool = False  # written inline, on its column
    not_valid: bool = False  # added NOT VALID (validated later)


@dataclass(frozen=True)
class Partitioning:
    """`PARTITION BY RANGE | LIST | HASH (columns)`."""

    method: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableDefinition:
    """A table's columns, keys and partitioning, from its CREATE TABLE and amendments."""

    # None when the table takes its columns from elsewhere (PARTITION OF, AS SELECT).
    columns: tuple[Column, ...] | None
    keys: tuple[TableKey, ...] = ()
    partitioning: Partitioning | None = None
    # Columns added by ALTER TABLE ... ADD COLUMN amendments (run as written).
    added_columns: tuple[Column, ...] = ()

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns or () if c.name == name), None)

    @property
    def primary_and_unique_keys(self) -> list[TableKey]:
        return [k for k in self.keys if k.kind in (KeyKind.PRIMARY, KeyKind.UNIQUE)]


@dataclass(frozen=True)
class CatalogObject:
    """An object created as written and checked for existence only (CATALOG_KINDS): what
    identifies it in the catalog besides its name (a cast's two types, a user mapping's
    user and server, default privileges' role, schema and object kind)."""

    identity: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserJob(CatalogObject):
    """`add_job('schema.procedure', ...)`: identified by its procedure, with its limits."""

    limits: JobLimits = JobLimits()


@dataclass(frozen=True)
class ExistingSchema:
    """A schema every database has (public): completed by its statements, never created."""


Declaration = (
    HypertableConversion
    | ColumnstoreSettings
    | Policy
    | ContinuousAggregate
    | TableDefinition
    | CatalogObject
    | ExistingSchema
)
