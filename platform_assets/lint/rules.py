"""Static rules over declared SQL, TimescaleDB-aware, each with an id and a rationale.

Rules that depend on the live database (is the table populated? is it a
hypertable already?) use `LiveFacts` when a database is configured and are
skipped otherwise. A statement opts out of a rule with an annotation comment
directly above it: `-- platform: lint_disable=PG003,TS005`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from psycopg import sql
from sqlglot import exp

from platform_assets.diff.table_columns import retype_rewrites
from platform_assets.live import timescale_catalog as tc
from platform_assets.live.session import Session
from platform_assets.model.declarations import (
    Column,
    ContinuousAggregate,
    HypertableConversion,
    KeyKind,
    RefreshPolicy,
    RetentionPolicy,
    TableDefinition,
)
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.intervals import interval_duration
from platform_assets.model.objects import (
    ObjectKey,
    ObjectKind,
    SchemaObject,
    SourceLocation,
    Statement,
)
from platform_assets.parse.calls import named_argument
from platform_assets.parse.tables import line_of


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # "error" or "warning"
    summary: str
    rationale: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in [
        Rule(
            "TS001", "error", "unique key on a hypertable without every partitioning column",
            "TimescaleDB enforces uniqueness per chunk, so a PRIMARY KEY, UNIQUE constraint or "
            "unique index on a hypertable must contain the time column and every hash "
            "dimension column; create_hypertable fails otherwise.",
        ),
        Rule(
            "TS002", "error", "foreign key into a hypertable",
            "A foreign key needs a unique key on the referenced columns; on a hypertable that "
            "key must include the time column, which the referencing table does not carry. "
            "Hypertable-to-hypertable foreign keys are never supported.",
        ),
        Rule(
            "TS003", "error", "compression policy without compression settings",
            "add_compression_policy fails unless `ALTER TABLE ... SET (timescaledb.compress, "
            "...)` enabled compression (with segmentby/orderby) on the hypertable first.",
        ),
        Rule(
            "TS004", "error", "continuous aggregate refresh window under two buckets",
            "TimescaleDB rejects a refresh policy whose window (start_offset - end_offset) "
            "covers fewer than two buckets of the aggregate.",
        ),
        Rule(
            "TS005", "error", "refresh window reaches past the raw data's retention",
            "When start_offset is not shorter than the source hypertable's drop_after, a "
            "refresh after retention ran finds no raw rows and wipes aggregated history.",
        ),
        Rule(
            "TS006", "error", "construct a continuous aggregate cannot use",
            "Continuous aggregates need a time_bucket GROUP BY and reject window functions, "
            "DISTINCT, LIMIT/OFFSET, CTEs and subqueries.",
        ),
        Rule(
            "TS007", "error", "add_dimension on a hypertable that already holds data",
            "add_dimension works only on an empty hypertable.",
        ),
        Rule(
            "PG001", "error", "MySQL-style INDEX inside CREATE TABLE",
            "PostgreSQL has no inline INDEX clause; it parses as a column named INDEX and the "
            "server rejects it. Declare each index with CREATE INDEX.",
        ),
        Rule(
            "PG006", "error", "unique key on a partitioned table without the partition column",
            "PostgreSQL enforces uniqueness per partition, so every PRIMARY KEY and UNIQUE "
            "constraint of a partitioned table must include its partitioning columns.",
        ),
        Rule(
            "TS008", "warning", "if_not_exists on a TimescaleDB call",
            "With if_not_exists, an existing hypertable or policy with other settings is kept "
            "with only a notice; the declaration silently stops describing the database. The "
            "platform reconciles declared settings itself, so leave the flag out.",
        ),
        Rule(
            "PG002", "warning", "NOT NULL column added without a default to a populated table",
            "Existing rows have no value for the column, so the ALTER fails; add a default "
            "or backfill first.",
        ),
        Rule(
            "PG003", "warning", "index built without CONCURRENTLY on a populated table",
            "CREATE INDEX blocks writes to the table for the whole build; CONCURRENTLY does "
            "not. (Not on hypertables, where CONCURRENTLY is rejected.)",
        ),
        Rule(
            "PG004", "warning", "constraint added without NOT VALID to a populated table",
            "Validating a new foreign key or check scans the table under a heavy lock; add it "
            "NOT VALID, then VALIDATE CONSTRAINT, which takes a lighter lock.",
        ),
        Rule(
            "PG005", "warning", "volatile default rewrites a populated table",
            "A column added with a volatile default (random(), gen_random_uuid(), "
            "clock_timestamp(), ...) rewrites every row under an exclusive lock. The "
            "platform refuses it on a table that holds rows unless allowed. Online: add the "
            "column without the default, set the default (new rows only), backfill existing "
            "rows in batches.",
        ),
        Rule(
            "PG009", "warning", "column type change that rewrites a populated table",
            "Changing a column's type rewrites the table and its indexes under ACCESS "
            "EXCLUSIVE unless the change is binary-coercible (varchar to a longer varchar or "
            "text): reads and writes wait for the whole copy. The platform refuses it on a "
            "table that holds rows unless allow_destructive names the table. Online: add a "
            "column of the new type, keep it equal with a trigger, backfill in batches, then "
            "swap the names in one brief transaction.",
        ),
        Rule(
            "PG007", "warning", "unique index on a populated hypertable: writes wait for its build",
            "TimescaleDB refuses CONCURRENTLY on a hypertable and refuses "
            "timescaledb.transaction_per_chunk for a unique index, so the platform builds it in "
            "one transaction holding SHARE on every chunk: no online form exists. Build it in a "
            "quiet window, or make it a plain index if uniqueness is enforced elsewhere.",
        ),
        Rule(
            "PG008", "warning", "DROP ... IF EXISTS before CREATE is read as start clean",
            "Tutorials drop an object before creating it so a script can be run again. The "
            "platform never drops a declared object: the DROP is not run, and an existing "
            "object is kept and brought to its declaration, its rows with it.",
        ),
        Rule(
            "DOC001", "warning", "comment's count disagrees with the declarations",
            "A comment that states how many hypertables the file declares, and is wrong, "
            "misleads the next reader.",
        ),
    ]
}  # fmt: skip

VOLATILE_FUNCTIONS = frozenset(
    {"random", "gen_random_uuid", "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval"}
)


@dataclass(frozen=True)
class LintFinding:
    rule: Rule
    location: SourceLocation
    object_name: str
    message: str
    key: ObjectKey  # the object's, also its asset key

    def __str__(self) -> str:
        return (
            f"{self.location}: {self.rule.id} {self.rule.severity}: "
            f"{self.object_name}: {self.message}"
        )


@dataclass
class LiveFacts:
    """What the linter needs from a live database."""

    row_estimates: dict[tuple[str, str], float] = field(default_factory=dict)
    hypertables: set[tuple[str, str]] = field(default_factory=set)
    dimensions: set[tuple[str, str, str]] = field(default_factory=set)
    relations: set[tuple[str, str]] = field(default_factory=set)
    constraints: set[tuple[str, str, str]] = field(default_factory=set)
    # (schema, table) -> column -> type, as the server formats it.
    columns: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def populated(self, schema: str, table: str) -> bool:
        return self.row_estimates.get((schema, table), 0) > 0

    @classmethod
    def read(cls, session: Session) -> LiveFacts:
        facts = cls()
        for row in session.rows(
            "SELECT n.nspname, c.relname, c.relkind, c.reltuples AS est "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE '\\_timescaledb%%'"
        ):
            facts.relations.add((row["nspname"], row["relname"]))
            if row["relkind"] in ("r", "p"):
                facts.row_estimates[(row["nspname"], row["relname"])] = _exists_rows(
                    session, row["nspname"], row["relname"], row["est"]
                )
        for row in session.rows(
            "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE '\\_timescaledb%%'"
        ):
            table_columns = facts.columns.setdefault((row["nspname"], row["relname"]), {})
            table_columns[row["attname"]] = row["type"]
        for row in session.rows(
            "SELECT n.nspname, c.relname, con.conname FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        ):
            facts.constraints.add((row["nspname"], row["relname"], row["conname"]))
        if tc.installed(session):
            for row in session.rows(
                "SELECT hypertable_schema, hypertable_name, column_name "
                "FROM timescaledb_information.dimensions"
            ):
                table = (row["hypertable_schema"], row["hypertable_name"])
                facts.hypertables.add(table)
                facts.dimensions.add((*table, row["column_name"]))
        return facts


def _exists_rows(session: Session, schema: str, table: str, estimate: float) -> float:
    # reltuples is -1 or 0 before the first ANALYZE: look for one row instead.
    if estimate and estimate > 0:
        return estimate
    found = session.value(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(schema, table)))
    return 1.0 if found else 0.0


def lint_graph(graph: SchemaGraph, live: LiveFacts | None = None) -> list[LintFinding]:
    """Every finding for the graph, in file order, minus those a statement disabled."""
    findings: list[LintFinding] = []
    for check in CHECKS:
        for rule_id, statement, obj, message, line in check(graph, live):
            if rule_id in _disabled(statement):
                continue
            location = SourceLocation(statement.location.file, line or statement.location.line)
            findings.append(LintFinding(RULES[rule_id], location, obj.describe(), message, obj.key))
    return sorted(findings, key=lambda f: (str(f.location.file), f.location.line, f.rule.id))


def _disabled(statement: Statement) -> set[str]:
    value = statement.annotations.get("lint_disable", "")
    return {part.strip() for part in value.split(",") if part.strip()}


# -- TimescaleDB rules -----------------------------------------------------------------


def partition_columns(hypertable: SchemaObject) -> list[str]:
    return [c.lower() for c in hypertable.declared(HypertableConversion).partition_columns]


def unique_keys(
    table: SchemaObject,
    graph: SchemaGraph,
    indexes: dict[tuple[str, str | None], list[SchemaObject]] | None = None,
) -> Iterator[tuple[Statement, list[str], int | None]]:
    """Every PRIMARY KEY / UNIQUE of a table (inline, ALTER ADD, unique indexes);
    `indexes` is `indexes_by_table(graph)`, for a rule that asks of every table."""
    for key in table.declared(TableDefinition).primary_and_unique_keys:
        yield table.statements[key.statement], [c.lower() for c in key.columns], key.line
    if indexes is None:
        indexes = indexes_by_table(graph)
    for obj in indexes.get((table.schema, table.name), []):
        tree = obj.definition.tree
        if isinstance(tree, exp.Create) and tree.args.get("unique"):
            params = tree.this.args.get("params")
            columns = [
                _column_name(c.this if isinstance(c, exp.Ordered) else c)
                for c in (params.args.get("columns") or [] if params else [])
            ]
            yield obj.definition, columns, None


def indexes_by_table(graph: SchemaGraph) -> dict[tuple[str, str | None], list[SchemaObject]]:
    """The indexes of each (schema, table), in graph order: one pass, not one per table."""
    found: dict[tuple[str, str | None], list[SchemaObject]] = {}
    for obj in graph:
        if obj.kind == ObjectKind.INDEX:
            found.setdefault((obj.schema, obj.relation), []).append(obj)
    return found


def _column_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Ordered):
        node = node.this
    return node.name.lower() if isinstance(node, exp.Column | exp.Identifier) else node.sql()


def _hypertables(graph: SchemaGraph) -> Iterator[tuple[SchemaObject, SchemaObject]]:
    for obj in graph:
        if obj.kind == ObjectKind.HYPERTABLE and obj.relation:
            table = graph.relation(obj.schema, obj.relation)
            if table is not None:
                yield obj, table


def check_unique_without_partition_columns(graph, live):
    indexes = indexes_by_table(graph)
    for hypertable, table in _hypertables(graph):
        needed = partition_columns(hypertable)
        for statement, columns, line in unique_keys(table, graph, indexes):
            missing = [c for c in needed if c not in columns]
            if missing:
                yield (
                    "TS001", statement, table,
                    f"unique key ({', '.join(columns)}) lacks partitioning column(s) "
                    f"{', '.join(missing)} of the hypertable",
                    line,
                )  # fmt: skip


def check_partitioned_unique_keys(graph, live):
    indexes = indexes_by_table(graph)
    for obj in graph:
        if obj.kind != ObjectKind.TABLE:
            continue
        partitioning = obj.declared(TableDefinition).partitioning
        if partitioning is None:
            continue
        needed = [c.lower() for c in partitioning.columns]
        for statement, columns, line in unique_keys(obj, graph, indexes):
            missing = [c for c in needed if c not in columns]
            if missing:
                yield (
                    "PG006", statement, obj,
                    f"unique key ({', '.join(columns)}) lacks partition column(s) "
                    f"{', '.join(missing)}",
                    line,
                )  # fmt: skip


def check_if_not_exists(graph, live):
    for obj in graph:
        if not obj.is_timescale:
            continue
        for statement in obj.statements:
            kwarg = named_argument(statement.tree, "if_not_exists")
            if kwarg is not None:
                yield (
                    "TS008", statement, obj,
                    "if_not_exists keeps an existing object with other settings; "
                    "the platform reconciles instead",
                    line_of(kwarg),
                )  # fmt: skip


def check_start_clean(graph, live):
    for obj in graph:
        drop = obj.start_clean
        if drop is not None:
            yield (
                "PG008", drop, obj,
                f"not run: {obj.describe()} is never dropped; an existing one is kept "
                "and evolved to this declaration",
                None,
            )  # fmt: skip


def check_foreign_keys_into_hypertables(graph, live):
    hypertables = {(t.schema, t.name) for _, t in _hypertables(graph)}
    for obj in graph:
        if obj.kind != ObjectKind.TABLE:
            continue
        for key in obj.declared(TableDefinition).keys:
            if key.kind != KeyKind.FOREIGN or key.referenced is None:
                continue
            schema, name = key.referenced[0] or obj.schema, key.referenced[1]
            if (schema, name) not in hypertables:
                continue
            source_is_hypertable = (obj.schema, obj.name) in hypertables
            kind = "between hypertables" if source_is_hypertable else "into a hypertable"
            yield (
                "TS002", obj.statements[key.statement], obj,
                f"foreign key {kind} {schema}.{name}: its unique key must include "
                "the time column, so no key can back this reference",
                key.line,
            )  # fmt: skip


def check_compression_policy_settings(graph, live):
    for obj in graph:
        if obj.kind == ObjectKind.COMPRESSION_POLICY and obj.relation:
            table = graph.relation(obj.schema, obj.relation)
            if table is None:
                continue
            if graph.attached(table, ObjectKind.COMPRESSION_SETTINGS) is None:
                yield (
                    "TS003", obj.definition, obj,
                    f"{obj.schema}.{obj.relation} has no `ALTER TABLE ... SET "
                    "(timescaledb.compress, ...)` before this policy",
                    None,
                )  # fmt: skip


def check_refresh_windows(graph, live):
    for obj in graph:
        if obj.kind != ObjectKind.REFRESH_POLICY or not obj.relation:
            continue
        aggregate = graph.relation(obj.schema, obj.relation)
        if aggregate is None or aggregate.kind != ObjectKind.CONTINUOUS_AGGREGATE:
            continue
        refresh = obj.declared(RefreshPolicy)
        start = interval_duration(refresh.start_offset)
        end = interval_duration(refresh.end_offset) or timedelta(0)
        bucket = bucket_width(aggregate)
        if start is not None and bucket is not None and start - end < 2 * bucket:
            yield (
                "TS004", obj.definition, obj,
                f"window {refresh.start_offset} - {refresh.end_offset} "
                f"covers fewer than two {bucket} buckets",
                None,
            )  # fmt: skip
        if start is None:
            continue
        for source in sources(aggregate, graph):
            retention = graph.attached(source, ObjectKind.RETENTION_POLICY)
            if retention is None:
                continue
            declared_drop = retention.declared(RetentionPolicy).drop_after
            drop_after = interval_duration(declared_drop)
            if drop_after is not None and start >= drop_after:
                yield (
                    "TS005", obj.definition, obj,
                    f"start_offset {refresh.start_offset} is not shorter than "
                    f"{source.qualified_name}'s retention drop_after "
                    f"{declared_drop} ({retention.location})",
                    None,
                )  # fmt: skip


def sources(aggregate: SchemaObject, graph: SchemaGraph) -> list[SchemaObject]:
    return [
        graph[dep]
        for dep in sorted(aggregate.depends_on)
        if graph[dep].kind in (ObjectKind.TABLE, ObjectKind.CONTINUOUS_AGGREGATE)
    ]


def bucket_width(aggregate: SchemaObject) -> timedelta | None:
    """The width of the aggregate's first time_bucket, when it is an interval."""
    buckets = aggregate.declared(ContinuousAggregate).buckets
    return interval_duration(buckets[0].width) if buckets else None


def check_aggregate_constructs(graph, live):
    for obj in graph:
        if obj.kind != ObjectKind.CONTINUOUS_AGGREGATE:
            continue
        query = obj.definition.tree.expression
        if query is None:
            continue
        problems = []
        if any(True for _ in query.find_all(exp.Window)):
            problems.append("a window function")
        if query.args.get("distinct") or any(True for _ in query.find_all(exp.Distinct)):
            problems.append("DISTINCT")
        if query.args.get("limit") or query.args.get("offset"):
            problems.append("LIMIT/OFFSET")
        if (
            query.args.get("with_")
            or query.args.get("with")
            or any(True for _ in query.find_all(exp.CTE))
        ):
            problems.append("a CTE")
        if any(True for _ in query.find_all(exp.Subquery)):
            problems.append("a subquery")
        if bucket_width(obj) is None:
            problems.append("no time_bucket")
        for problem in problems:
            yield "TS006", obj.definition, obj, f"the query has {problem}", None


def check_dimension_after_data(graph, live):
    if live is None:
        return
    for hypertable, table in _hypertables(graph):
        if not live.populated(table.schema, table.name):
            continue
        added = hypertable.declared(HypertableConversion).added
        for statement, dimension in zip(hypertable.statements[1:], added, strict=True):
            column = dimension.column
            if (table.schema, table.name, column) not in live.dimensions:
                yield (
                    "TS007", statement, hypertable,
                    f"{table.qualified_name} already holds rows; add_dimension({column}) will fail",
                    None,
                )  # fmt: skip


# -- PostgreSQL rules -------------------------------------------------------------------


def check_inline_index(graph, live):
    for obj in graph:
        if obj.kind != ObjectKind.TABLE:
            continue
        for column in obj.declared(TableDefinition).columns or ():
            kind = column.data_type
            if (
                column.name.upper() in ("INDEX", "KEY")
                and not column.definition.this.quoted
                and kind is not None
                and kind.this == exp.DType.USERDEFINED
            ):
                index = kind.args.get("kind")
                yield (
                    "PG001", obj.definition, obj,
                    f"`{column.name.upper()} {index.name if index else ''} (...)` is MySQL syntax; "
                    "use CREATE INDEX",
                    column.line,
                )  # fmt: skip


def check_populated_table_changes(graph, live):
    if live is None:
        return
    hypertables = {(t.schema, t.name) for _, t in _hypertables(graph)} | live.hypertables
    for obj in graph:
        if obj.kind == ObjectKind.INDEX and obj.relation:
            tree = obj.definition.tree
            table = (obj.schema, obj.relation)
            new_on_rows = (obj.schema, obj.name) not in live.relations and live.populated(*table)
            if new_on_rows and tree.args.get("unique") and table in hypertables:
                yield (
                    "PG007", obj.definition, obj,
                    f"hypertable {obj.schema}.{obj.relation} holds rows; this unique index is "
                    "built in one transaction and writes wait for all of it",
                    None,
                )  # fmt: skip
            if not tree.args.get("concurrently") and new_on_rows and table not in hypertables:
                yield (
                    "PG003", obj.definition, obj,
                    f"{obj.schema}.{obj.relation} holds rows; CREATE INDEX CONCURRENTLY avoids "
                    "blocking writes",
                    None,
                )  # fmt: skip
        if obj.kind != ObjectKind.TABLE or not live.populated(obj.schema, obj.name):
            continue
        table = obj.declared(TableDefinition)
        yield from _populated_columns(obj, table, live)
        for index, statement in enumerate(obj.statements[1:], start=1):
            yield from _populated_amendment(obj, table, index, statement, live)


def _volatile_default(column: Column) -> bool:
    if column.default is None:
        return False
    calls = {f.name.lower() for f in column.default.find_all(exp.Anonymous)}
    calls |= {type(f).__name__.lower() for f in column.default.find_all(exp.Func)}
    return bool(calls & (VOLATILE_FUNCTIONS | {"rand", "uuid"}))


def _populated_columns(obj, table, live):
    """What evolving a populated table to its CREATE TABLE would rewrite."""
    existing = live.columns.get((obj.schema, obj.name))
    if existing is None:
        return
    for column in table.columns or ():
        live_type = existing.get(column.name)
        if live_type is None:
            if _volatile_default(column):
                yield (
                    "PG005", obj.definition, obj,
                    f"column {column.name} is added with a volatile default; the table holds "
                    "rows and is rewritten (refused unless allowed); online: add it without "
                    "the default, set the default, backfill in batches",
                    column.line,
                )  # fmt: skip
            continue
        if column.data_type is None:
            continue
        declared = column.type_sql
        if not retype_rewrites(live_type, declared):
            continue
        yield (
            "PG009", obj.definition, obj,
            f"column {column.name} changes type {live_type} -> {declared}, which rewrites the "
            "populated table under ACCESS EXCLUSIVE (refused unless allowed); online: add a "
            f"column of type {declared}, keep it equal with a trigger, backfill in batches, "
            "swap the names",
            column.line,
        )  # fmt: skip


def _populated_amendment(obj, table, index, statement, live):
    """What an ALTER TABLE amendment does to a table that already holds rows."""
    for key in table.keys:
        if (
            key.statement == index
            and key.kind in (KeyKind.FOREIGN, KeyKind.CHECK)
            and key.name
            and not key.not_valid
            and (obj.schema, obj.name, key.name) not in live.constraints
        ):
            yield (
                "PG004", statement, obj,
                f"constraint {key.name} is validated against every existing row under a heavy "
                "lock; add it NOT VALID and VALIDATE it separately",
                None,
            )  # fmt: skip
    for column in table.added_columns:
        if column.statement != index:
            continue
        if column.not_null and column.default is None:
            yield (
                "PG002", statement, obj,
                f"column {column.name} is NOT NULL with no default; existing rows fail it",
                None,
            )  # fmt: skip
        if _volatile_default(column):
            yield (
                "PG005", statement, obj,
                f"column {column.name} defaults to a volatile function; the table is "
                "rewritten; online: add it without the default, set the default, backfill "
                "in batches",
                None,
            )  # fmt: skip


def check_hypertable_count_comments(graph, live):
    counts: dict[Path, int] = {}
    for obj in graph:
        if obj.kind == ObjectKind.HYPERTABLE:
            counts[obj.location.file] = counts.get(obj.location.file, 0) + 1
    seen: set[tuple[Path, int]] = set()
    for obj in graph:
        for statement in obj.statements:
            claim = _claimed_hypertables(statement)
            file = statement.location.file
            if claim is None or (file, statement.location.line) in seen:
                continue
            seen.add((file, statement.location.line))
            declared = counts.get(file, 0)
            if claim != declared:
                yield (
                    "DOC001", statement, obj,
                    f"a comment says {claim} hypertables; {file} declares {declared}",
                    None,
                )  # fmt: skip


def _claimed_hypertables(statement: Statement) -> int | None:
    tree_comments = statement.tree.comments or []
    for comment in tree_comments:
        words = comment.replace(":", " ").split()
        for word, following in zip(words, words[1:], strict=False):
            if word.isdigit() and following.lower().startswith("hypertable"):
                return int(word)
    return None


CHECKS: list[Callable] = [
    check_unique_without_partition_columns,
    check_partitioned_unique_keys,
    check_if_not_exists,
    check_foreign_keys_into_hypertables,
    check_compression_policy_settings,
    check_refresh_windows,
    check_aggregate_constructs,
    check_dimension_after_data,
    check_inline_index,
    check_populated_table_changes,
    check_hypertable_count_comments,
    check_start_clean,
]
