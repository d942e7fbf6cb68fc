"""The kinds of schema object the platform knows, and how each one is named."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlglot import exp

if TYPE_CHECKING:
    from platform_assets.model.declarations import Declaration

D = TypeVar("D")


class ObjectKind(StrEnum):
    EXTENSION = "extension"
    SCHEMA = "schema"
    TYPE = "type"
    DOMAIN = "domain"
    SEQUENCE = "sequence"
    FUNCTION = "function"
    TABLE = "table"
    INDEX = "index"
    VIEW = "view"
    MATERIALIZED_VIEW = "materialized_view"
    TRIGGER = "trigger"
    # TimescaleDB declarations
    HYPERTABLE = "hypertable"
    COMPRESSION_SETTINGS = "compression_settings"
    COMPRESSION_POLICY = "compression_policy"
    RETENTION_POLICY = "retention_policy"
    REORDER_POLICY = "reorder_policy"
    CONTINUOUS_AGGREGATE = "continuous_aggregate"
    REFRESH_POLICY = "refresh_policy"
    JOB = "job"  # add_job: a user-defined action, named after its procedure
    # Created as written and checked for existence (catalog_objects in live/catalog.py).
    AGGREGATE = "aggregate"
    OPERATOR = "operator"
    OPERATOR_CLASS = "operator_class"
    OPERATOR_FAMILY = "operator_family"
    COLLATION = "collation"
    CONVERSION = "conversion"
    TEXT_SEARCH_CONFIGURATION = "text_search_configuration"
    TEXT_SEARCH_DICTIONARY = "text_search_dictionary"
    TEXT_SEARCH_PARSER = "text_search_parser"
    TEXT_SEARCH_TEMPLATE = "text_search_template"
    STATISTICS = "statistics"
    FOREIGN_TABLE = "foreign_table"
    RULE = "rule"
    POLICY = "policy"
    DEFAULT_PRIVILEGES = "default_privileges"
    CAST = "cast"
    EVENT_TRIGGER = "event_trigger"
    PUBLICATION = "publication"
    SUBSCRIPTION = "subscription"
    FOREIGN_DATA_WRAPPER = "foreign_data_wrapper"
    SERVER = "server"
    USER_MAPPING = "user_mapping"
    LANGUAGE = "language"
    ACCESS_METHOD = "access_method"
    TRANSFORM = "transform"
    LARGE_OBJECT = "large_object"  # `SELECT lo_create(oid)`, named by its oid


TIMESCALE_KINDS = frozenset(
    {
        ObjectKind.HYPERTABLE,
        ObjectKind.COMPRESSION_SETTINGS,
        ObjectKind.COMPRESSION_POLICY,
        ObjectKind.RETENTION_POLICY,
        ObjectKind.REORDER_POLICY,
        ObjectKind.CONTINUOUS_AGGREGATE,
        ObjectKind.REFRESH_POLICY,
        ObjectKind.JOB,
    }
)

# Objects that live in pg_class and so share one namespace per schema.
RELATION_KINDS = frozenset(
    {
        ObjectKind.TABLE,
        ObjectKind.FOREIGN_TABLE,
        ObjectKind.VIEW,
        ObjectKind.MATERIALIZED_VIEW,
        ObjectKind.CONTINUOUS_AGGREGATE,
        ObjectKind.SEQUENCE,
        ObjectKind.INDEX,
    }
)

# Objects named after the relation they belong to: key <schema>/<relation>/<kind>.
ATTACHED_KINDS = frozenset(
    {
        ObjectKind.HYPERTABLE,
        ObjectKind.COMPRESSION_SETTINGS,
        ObjectKind.COMPRESSION_POLICY,
        ObjectKind.RETENTION_POLICY,
        ObjectKind.REORDER_POLICY,
        ObjectKind.REFRESH_POLICY,
    }
)

# Objects named <schema>/<kind>/<name>, outside the relation namespace.
NAMESPACED_KINDS = frozenset(
    {
        ObjectKind.FUNCTION,
        ObjectKind.TYPE,
        ObjectKind.DOMAIN,
        ObjectKind.SEQUENCE,
        ObjectKind.AGGREGATE,
        ObjectKind.OPERATOR,
        ObjectKind.OPERATOR_CLASS,
        ObjectKind.OPERATOR_FAMILY,
        ObjectKind.COLLATION,
        ObjectKind.CONVERSION,
        ObjectKind.TEXT_SEARCH_CONFIGURATION,
        ObjectKind.TEXT_SEARCH_DICTIONARY,
        ObjectKind.TEXT_SEARCH_PARSER,
        ObjectKind.TEXT_SEARCH_TEMPLATE,
        ObjectKind.STATISTICS,
        ObjectKind.DEFAULT_PRIVILEGES,
        ObjectKind.JOB,
    }
)

# Objects of a relation named like its triggers: <schema>/<relation>/<name>.
RELATION_MEMBER_KINDS = frozenset(
    {ObjectKind.INDEX, ObjectKind.TRIGGER, ObjectKind.RULE, ObjectKind.POLICY}
)

# Objects of the whole database, in no schema: platform/<kind>/<name>.
GLOBAL_SCHEMA = "platform"
GLOBAL_KINDS = frozenset(
    {
        ObjectKind.CAST,
        ObjectKind.EVENT_TRIGGER,
        ObjectKind.PUBLICATION,
        ObjectKind.SUBSCRIPTION,
        ObjectKind.FOREIGN_DATA_WRAPPER,
        ObjectKind.SERVER,
        ObjectKind.USER_MAPPING,
        ObjectKind.LANGUAGE,
        ObjectKind.ACCESS_METHOD,
        ObjectKind.TRANSFORM,
        ObjectKind.LARGE_OBJECT,
    }
)

# Objects the platform creates as written, completes with their statements, and
# checks for existence only (it does not evolve them).
CATALOG_KINDS = frozenset(
    {
        *GLOBAL_KINDS,
        *(
            NAMESPACED_KINDS
            - {ObjectKind.FUNCTION, ObjectKind.TYPE, ObjectKind.DOMAIN, ObjectKind.JOB}
        ),
        ObjectKind.RULE,
        ObjectKind.POLICY,
        ObjectKind.FOREIGN_TABLE,
    }
    - {ObjectKind.SEQUENCE}
)

ObjectKey = tuple[str, ...]


@dataclass(frozen=True)
class SourceLocation:
    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Statement:
    """One statement of a schema file, kept exactly as written."""

    text: str
    location: SourceLocation
    tree: exp.Expr
    search_path: tuple[str, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    # Session settings in force where it stands that change how DDL reads
    # (pg_dump's `SET check_function_bodies = false`), applied when it runs.
    settings: tuple[tuple[str, str], ...] = ()
    # Its tokens as the file's tokenizer read them (positions are the file's: the
    # text starts at tokens[0].start), so no reader tokenizes the statement again.
    tokens: list = field(default_factory=list, repr=False, compare=False)


@dataclass
class SchemaObject:
    """One declared object: the statement that defines it and those that complete it."""

    kind: ObjectKind
    schema: str
    name: str
    # For indexes, triggers and TimescaleDB declarations: the relation they belong to.
    relation: str | None
    statements: list[Statement]
    # What the statements declare, typed (model/declarations.py): for tables,
    # hypertable conversions, columnstore settings, policies and continuous aggregates.
    declaration: Declaration | None = None
    depends_on: set[ObjectKey] = field(default_factory=set)
    # `DROP ... IF EXISTS` directly before its CREATE ("start clean"): never run.
    start_clean: Statement | None = None

    def declared(self, kind: type[D]) -> D:
        """The typed declaration, of the type this object's kind always has."""
        if not isinstance(self.declaration, kind):
            raise TypeError(f"{self.describe()} declares no {kind.__name__}")
        return self.declaration

    @property
    def key(self) -> ObjectKey:
        return object_key(self.kind, self.schema, self.name, self.relation)

    @property
    def definition(self) -> Statement:
        return self.statements[0]

    @property
    def location(self) -> SourceLocation:
        return self.definition.location

    @property
    def annotations(self) -> dict[str, str]:
        return self.definition.annotations

    @property
    def sql(self) -> str:
        return "\n".join(s.text.rstrip() + ";" for s in self.statements)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def is_timescale(self) -> bool:
        return self.kind in TIMESCALE_KINDS

    def describe(self) -> str:
        """A short human name, e.g. `table wildduck.nodes`."""
        label = self.kind.value.replace("_", " ")
        if self.kind == ObjectKind.EXTENSION:
            return f"extension {self.name}"
        if self.kind == ObjectKind.SCHEMA:
            return f"schema {self.name}"
        if self.kind in ATTACHED_KINDS:
            return f"{label} of {self.schema}.{self.relation}"
        if self.kind in RELATION_MEMBER_KINDS:
            return f"{label} {self.name} on {self.schema}.{self.relation}"
        if self.kind in GLOBAL_KINDS:
            return f"{label} {self.name}"
        return f"{label} {self.qualified_name}"


def object_key(kind: ObjectKind, schema: str, name: str, relation: str | None = None) -> ObjectKey:
    """The one naming scheme for every object: it is also the Dagster asset key."""
    if kind == ObjectKind.EXTENSION:
        return ("platform", "extension", name)
    if kind == ObjectKind.SCHEMA:
        return (name, "schema")
    if kind in ATTACHED_KINDS:
        assert relation is not None
        return (schema, relation, kind.value)
    if kind in RELATION_MEMBER_KINDS:
        assert relation is not None
        return (schema, relation, name)
    if kind in GLOBAL_KINDS:
        return (GLOBAL_SCHEMA, kind.value, name)
    if kind in NAMESPACED_KINDS:
        return (schema, "type" if kind == ObjectKind.DOMAIN else kind.value, name)
    return (schema, name)
