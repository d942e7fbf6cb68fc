"""How each kind of object is applied on plain PostgreSQL, by inspecting the catalog first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.tokens import TokenType

from platform_assets.diff import (
    aggregates,
    constraints,
    guard,
    orphans,
    replacements,
    retention,
    table_columns,
)
from platform_assets.execute import partitions, rollups
from platform_assets.execute.engines.base import Action, Outcome
from platform_assets.execute.fallback import postgres_equivalent
from platform_assets.execute.partition_rules import is_range_partitioned
from platform_assets.live import catalog
from platform_assets.live.session import Session
from platform_assets.model.declarations import HypertableConversion
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey, ObjectKind, SchemaObject, Statement
from platform_assets.parse.dialect import DIALECT

Handler = Callable[[SchemaObject, Session, Outcome], Action]


class PostgresEngine:
    """Plain PostgreSQL. TimescaleDB declarations get their closest native equivalent
    (DESIGN.md decision 4): a hypertable is a range-partitioned table whose partitions
    the platform keeps, a continuous aggregate a materialized view; what has none
    (compression, reorder) is reported as not applicable, with the reason."""

    name = "postgresql"
    version: str | None = None  # TimescaleDB's, when the engine is TimescaleDB
    # False: hypertables become native range partitions (partitions.py).
    native_hypertables: bool = False

    def __init__(
        self,
        graph: SchemaGraph | None = None,
        allow_destructive: frozenset[ObjectKey] = frozenset(),
    ):
        # The whole graph, for objects whose form depends on others (a table that
        # a hypertable declaration will partition).
        self.graph = graph
        # Objects whose changes may lose data (explicit, per object, from run config).
        self.allow_destructive = allow_destructive
        # Injectable, so partition upkeep can be run as of another instant.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def apply(self, obj: SchemaObject, session: Session) -> Outcome:
        """Bring one object to its declaration in one transaction."""
        handler: Handler = getattr(self, f"apply_{obj.kind.value}")
        outcome = Outcome(Action.UNCHANGED)
        session.take_executed()
        try:
            with session.transaction(obj.definition.search_path):
                outcome.action = handler(obj, session, outcome)
            for statement in outcome.after_commit:
                session.execute_after_commit(statement)
            if outcome.after_commit_transaction:
                with session.transaction(obj.definition.search_path):
                    for statement in outcome.after_commit_transaction:
                        session.execute_after_commit(statement)
        except SchemaError:
            raise
        except Exception as error:  # the server's own message, located in the user's file
            raise SchemaError(
                f"{type(error).__name__}: {str(error).strip()}", obj.location, obj.describe()
            ) from error
        outcome.executed = session.take_executed()
        return outcome

    # -- shared steps -------------------------------------------------------------

    def create(self, obj: SchemaObject, session: Session) -> Action:
        """Run the object's statements exactly as written."""
        for statement in obj.statements:
            session.execute(statement.text)
        return Action.CREATED

    def not_applicable(self, obj: SchemaObject, outcome: Outcome, reason: str) -> Action:
        outcome.reason = reason
        return Action.NOT_APPLICABLE

    def native_partition_column(self, table: SchemaObject) -> str | None:
        """The time column a table is range-partitioned by here because a hypertable
        conversion of it is declared (None on an engine with native hypertables)."""
        if self.native_hypertables or self.graph is None or table.kind != ObjectKind.TABLE:
            return None
        hypertable = self.graph.attached(table, ObjectKind.HYPERTABLE)
        if hypertable is None:
            return None
        return hypertable.declared(HypertableConversion).time_column

    def upkeep(
        self,
        obj: SchemaObject,
        table: SchemaObject,
        session: Session,
        outcome: Outcome,
        create: bool = True,
    ) -> bool:
        """Create missing partitions (when `create`) and drop expired ones; report both.
        Dropping partitions long past retention with rows is refused unless `obj` (the
        object being applied) is allowed destructive changes."""
        assert self.graph is not None
        upkeep = partitions.plan(session, table, self.graph, self.clock())
        if not create:
            upkeep.create = []
        loss = retention.partition_loss(table, upkeep.overdue)
        losses = guard.refuse_destructive(
            obj, [guard.Change([], loss)], obj.key in self.allow_destructive
        )
        if losses:
            outcome.details["destructive_changes"] = losses
        partitions.apply(session, table, upkeep)
        if create:
            outcome.details["partitions_created"] = [name for name, _, _ in upkeep.create]
        outcome.details["partitions_dropped"] = upkeep.drop
        if upkeep.kept:
            outcome.details["partitions_kept_holding_newer_rows"] = upkeep.kept
        return not upkeep.empty

    # -- one method per object kind ------------------------------------------------

    def apply_extension(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        version = catalog.extension_version(session, obj.name)
        if version:
            outcome.details["version"] = version
            return Action.UNCHANGED
        if not catalog.extension_available(session, obj.name):
            if obj.name == "timescaledb":
                if self.graph is not None:
                    outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
                return self.not_applicable(
                    obj, outcome, "TimescaleDB is not available on this server"
                )
            raise SchemaError(f"extension {obj.name} is not available on this server", obj.location)
        action = self.create(obj, session)
        outcome.details["version"] = catalog.extension_version(session, obj.name)
        return action

    def apply_schema(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if not catalog.schema_exists(session, obj.name):
            return self.create(obj, session)
        if self.graph is not None:  # reported, never dropped
            found = orphans.orphans(session, self.graph, {obj.name})
            outcome.details["orphans"] = [str(orphan) for orphan in found]
        return self.apply_amendments(obj, session)

    def apply_type(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if catalog.type_kind(session, obj.schema, obj.name) is None:
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    apply_domain = apply_type

    def apply_sequence(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if catalog.relkind(session, obj.schema, obj.name) is None:
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    def apply_function(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        live = catalog.function_sources(session, obj.schema, obj.name)
        if not live:
            return self.create(obj, session)
        if function_body(obj.definition) in live:
            return self.apply_amendments(obj, session)
        session.execute(or_replace(obj.definition))
        return Action.UPDATED

    def apply_table(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        column = self.native_partition_column(obj)
        if catalog.relkind(session, obj.schema, obj.name) is None:
            if column is None:
                action = self.create(obj, session)
            else:  # the hypertable's native form; its partitions come with the hypertable
                session.execute(partitions.partitioned_create(obj, column))
                for statement in obj.statements[1:]:
                    session.execute(statement.text)
                action = Action.CREATED
        else:
            action = self.evolve_table(obj, session, outcome)
        if column is not None:
            outcome.details["engine_equivalent"] = f"partitioned by range ({column})"
        if is_range_partitioned(obj) and self.graph is not None:
            if "partition_interval" in obj.annotations:
                outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
            if self.upkeep(obj, obj, session, outcome) and action == Action.UNCHANGED:
                action = Action.UPDATED
        return action

    def evolve_table(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        """An existing table: ALTER it to its declaration (evolution/), refusing what
        loses data unless the object is allowed it; then the missing amendments."""
        changes = table_columns.column_changes(obj, session)
        losses = guard.refuse_destructive(obj, changes, obj.key in self.allow_destructive)
        for change in changes:
            for statement in change.statements:
                session.execute(statement)
                if change.loss:
                    outcome.destructive.append(session.executed[-1])
        if losses:
            outcome.details["destructive_changes"] = losses
        # Constraints once the columns match (a new column may bring its own).
        constraint_changes = constraints.constraint_changes(obj, session)
        for change in constraint_changes:
            for statement in change.statements:
                session.execute(statement)
        amended = self.apply_amendments(obj, session)
        if changes or constraint_changes:
            return Action.UPDATED
        return amended

    def apply_index(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if catalog.relkind(session, obj.schema, obj.name) is None:
            return self.create(obj, session)
        if replacements.index_changed(obj, session):  # dropped and rebuilt in one transaction
            session.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(obj.schema, obj.name)))
            self.create(obj, session)
            return Action.UPDATED
        return self.apply_amendments(obj, session)

    def apply_view(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if catalog.relkind(session, obj.schema, obj.name) is None:
            return self.create(obj, session)
        change = replacements.view_change(obj, session)
        if change is None:
            return self.apply_amendments(obj, session)
        if change.replace:
            session.execute(or_replace(obj.definition))
        else:  # its columns change: a view that depends on it makes this fail, and says so
            session.execute(sql.SQL("DROP VIEW {}").format(sql.Identifier(obj.schema, obj.name)))
            session.execute(obj.definition.text)
        for statement in obj.statements[1:]:
            session.execute(statement.text)
        return Action.UPDATED

    def apply_materialized_view(
        self, obj: SchemaObject, session: Session, outcome: Outcome
    ) -> Action:
        if catalog.relkind(session, obj.schema, obj.name) is None:
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    def apply_trigger(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert obj.relation is not None
        if not catalog.trigger_exists(session, obj.schema, obj.relation, obj.name):
            return self.create(obj, session)
        if replacements.trigger_changed(obj, session):  # replaced in one transaction
            session.execute(
                sql.SQL("DROP TRIGGER {} ON {}").format(
                    sql.Identifier(obj.name), sql.Identifier(obj.schema, obj.relation)
                )
            )
            self.create(obj, session)
            return Action.UPDATED
        return Action.UNCHANGED

    def apply_amendments(self, obj: SchemaObject, session: Session) -> Action:
        """An existing object: run the later statements that the catalog shows missing."""
        changed = False
        for statement in obj.statements[1:]:
            if amendment_missing(obj, statement, session):
                session.execute(statement.text)
                changed = True
        return Action.UPDATED if changed else Action.UNCHANGED

    # -- TimescaleDB declarations: their native equivalents -------------------------

    def apply_hypertable(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert self.graph is not None and obj.relation is not None
        table = self.graph.relation(obj.schema, obj.relation)
        assert table is not None
        outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
        column = obj.declared(HypertableConversion).time_column
        key = partitions.partition_key(session, obj.schema, obj.relation)
        if key is None:
            raise SchemaError(
                f"{table.qualified_name} exists but is not partitioned: on plain PostgreSQL a "
                f"hypertable is a table partitioned by range ({column}), which only creating "
                "the table makes; copy its rows into a new table to convert it",
                obj.location,
                obj.describe(),
            )
        if key[0] != column:
            raise SchemaError(
                f"{table.qualified_name} is partitioned by {key[0]}, not by the declared time "
                f"column {column}",
                obj.location,
                obj.describe(),
            )
        had = bool(partitions.existing_partitions(session, obj.schema, obj.relation))
        if not self.upkeep(obj, table, session, outcome):
            return Action.UNCHANGED
        return Action.UPDATED if had else Action.CREATED

    def apply_retention_policy(
        self, obj: SchemaObject, session: Session, outcome: Outcome
    ) -> Action:
        assert self.graph is not None and obj.relation is not None
        relation = self.graph.relation(obj.schema, obj.relation)
        equivalent = postgres_equivalent(obj, self.graph)
        outcome.details["engine_equivalent"] = equivalent
        if relation is None or relation.kind != ObjectKind.TABLE:
            return self.not_applicable(obj, outcome, equivalent.removeprefix("not applicable: "))
        if partitions.partition_key(session, relation.schema, relation.name) is None:
            return Action.UNCHANGED  # its hypertable asset reports why it is not partitioned
        changed = self.upkeep(obj, relation, session, outcome, create=False)
        return Action.UPDATED if changed else Action.UNCHANGED

    def apply_continuous_aggregate(
        self, obj: SchemaObject, session: Session, outcome: Outcome
    ) -> Action:
        assert self.graph is not None
        outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
        kind = catalog.relkind(session, obj.schema, obj.name)
        if kind is None:
            session.execute(rollups.materialized_view_sql(obj, self.graph))
            session.execute(rollups.unique_index_sql(obj))
            for statement in obj.statements[1:]:
                if isinstance(statement.tree, exp.Comment):  # TimescaleDB ALTERs have no peer
                    session.execute(statement.text)
            return Action.CREATED
        if kind != "m":
            raise SchemaError(
                f"{obj.qualified_name} exists but is not a materialized view",
                obj.location,
                obj.describe(),
            )
        live = aggregates.live_query(session, obj, timescale=False)
        declared = rollups.materialized_view_tree(obj, self.graph).expression
        if live is not None and aggregates.query_changed(session, live, declared):
            self.rebuild_view(obj, session, outcome)
            return Action.UPDATED
        if catalog.relkind(session, obj.schema, rollups.group_index_name(obj)) is None:
            session.execute(rollups.unique_index_sql(obj))
            return Action.UPDATED
        return Action.UNCHANGED

    def rebuild_view(self, obj: SchemaObject, session: Session, outcome: Outcome) -> None:
        """A changed query: the new view is built populated under another name, then
        swapped in, all in the object's transaction (readers see the old one until
        it commits). It is computed from the source, so nothing is lost."""
        assert self.graph is not None
        aggregates.refuse_with_dependents(session, obj)
        name = aggregates.rebuild_name(obj)
        rebuilt = sql.Identifier(obj.schema, name)
        session.execute(sql.SQL("DROP MATERIALIZED VIEW IF EXISTS {}").format(rebuilt))
        session.execute(rollups.materialized_view_sql(obj, self.graph, name))
        session.execute(rollups.unique_index_sql(obj, name))
        session.execute(
            sql.SQL("DROP MATERIALIZED VIEW {}").format(sql.Identifier(obj.schema, obj.name))
        )
        session.execute(
            sql.SQL("ALTER MATERIALIZED VIEW {} RENAME TO {}").format(
                rebuilt, sql.Identifier(obj.name)
            )
        )
        session.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                sql.Identifier(obj.schema, rollups.group_index_name(obj, name)),
                sql.Identifier(rollups.group_index_name(obj)),
            )
        )
        # Dropping the old view dropped what belonged to it: declare it again.
        for statement in obj.statements[1:]:
            if isinstance(statement.tree, exp.Comment):  # TimescaleDB ALTERs have no peer
                session.execute(statement.text)
        for attached in self.graph.attachments(obj):
            if attached.kind in (ObjectKind.INDEX, ObjectKind.TRIGGER):
                self.create(attached, session)
        outcome.details["rebuilt"] = (
            f"built as {obj.schema}.{name} from its source, then swapped in"
        )

    def apply_refresh_policy(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert self.graph is not None
        outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
        return Action.UNCHANGED  # the Dagster schedule is the policy; nothing lives on the server

    def _no_equivalent(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert self.graph is not None
        equivalent = postgres_equivalent(obj, self.graph)
        outcome.details["engine_equivalent"] = equivalent
        return self.not_applicable(obj, outcome, equivalent.removeprefix("not applicable: "))

    apply_compression_settings = _no_equivalent
    apply_compression_policy = _no_equivalent
    apply_reorder_policy = _no_equivalent


def amendment_missing(obj: SchemaObject, statement: Statement, session: Session) -> bool:
    """Whether an ALTER/COMMENT that completes `obj` is not yet reflected in the catalog.

    Statements whose effect cannot be read back (grants, ownership) are applied
    only with the object's creation.
    """
    tree = statement.tree
    if isinstance(tree, exp.Alter):
        added = [a for a in tree.args.get("actions") or [] if isinstance(a, exp.AddConstraint)]
        if added and obj.kind == ObjectKind.TABLE:
            live = catalog.constraint_names(session, obj.schema, obj.name)
            names = [c.name for a in added for c in a.expressions if isinstance(c, exp.Constraint)]
            return any(name not in live for name in names)
        return False
    if isinstance(tree, exp.Comment) and (tree.args.get("kind") or "").upper() == "TABLE":
        wanted = tree.expression.name if isinstance(tree.expression, exp.Literal) else None
        return catalog.object_comment(session, obj.schema, obj.name) != wanted
    return False


def function_body(statement: Statement) -> str | None:
    """The dollar- or single-quoted body of a CREATE FUNCTION, as the server stores it."""
    tokens = sqlglot.tokenize(statement.text, read=DIALECT)
    for previous, token in zip(tokens, tokens[1:], strict=False):
        if previous.token_type == TokenType.ALIAS and token.token_type in (
            TokenType.HEREDOC_STRING,
            TokenType.STRING,
        ):
            return token.text
    return None


def or_replace(statement: Statement) -> str:
    """`CREATE FUNCTION ...` as `CREATE OR REPLACE FUNCTION ...` (same text otherwise)."""
    tokens = sqlglot.tokenize(statement.text, read=DIALECT)
    if len(tokens) > 1 and tokens[1].text.upper() == "OR":
        return statement.text
    create = tokens[0]
    return statement.text[: create.end + 1] + " OR REPLACE" + statement.text[create.end + 1 :]
