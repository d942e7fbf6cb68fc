"""How each kind of object is applied on plain PostgreSQL, by inspecting the catalog first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlglot
from psycopg import sql
from psycopg.errors import LockNotAvailable
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
from platform_assets.execute import indexes, partitions, rollups
from platform_assets.execute.access import access_statements_due, statement_access
from platform_assets.execute.engines.base import Action, Outcome, Window
from platform_assets.execute.fallback import postgres_equivalent
from platform_assets.execute.partition_rules import is_range_partitioned
from platform_assets.live import catalog
from platform_assets.live.session import Session
from platform_assets.live.snapshot import Key
from platform_assets.model.declarations import (
    ExistingSchema,
    HypertableConversion,
    TableDefinition,
)
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.hazards import (
    Hazard,
    LockLevel,
    PlannedStatement,
    alter_table,
    declared,
    drop_index_concurrently,
    index_build,
    planned,
)
from platform_assets.model.naming import constraint_names
from platform_assets.model.objects import (
    CATALOG_KINDS,
    RELATION_KINDS,
    ObjectKey,
    ObjectKind,
    SchemaObject,
    Statement,
)
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
        # Times `now()` was asked, and how many of those answers were bounded: what was
        # decided from them holds until `clock_horizon` (partition upkeep). What depends
        # on the time unboundedly is never taken as in place.
        self.clock_reads = 0
        self.bounded_clock_reads = 0
        self.clock_horizon: datetime | None = None

    def now(self) -> datetime:
        self.clock_reads += 1
        return self.clock()

    def holds_until(self, until: datetime) -> None:
        """What the last `now()` decided stays so until `until` (the catalog unchanged)."""
        self.bounded_clock_reads += 1
        horizon = self.clock_horizon
        self.clock_horizon = until if horizon is None else min(horizon, until)

    def apply(self, obj: SchemaObject, session: Session) -> Outcome:
        """Bring one object to its declaration in one transaction."""
        handler: Handler = (
            self.apply_catalog_object
            if obj.kind in CATALOG_KINDS
            else getattr(self, f"apply_{obj.kind.value}")
        )
        outcome = Outcome(Action.UNCHANGED)
        session.take_executed()
        try:
            with session.changing(changed_keys(obj)):
                with session.transaction(obj.definition.search_path, obj.definition.settings):
                    outcome.action = handler(obj, session, outcome)
                for statement in outcome.after_commit:
                    session.execute_after_commit(statement)
                if outcome.after_commit_transaction:
                    with session.transaction(obj.definition.search_path):
                        for statement in outcome.after_commit_transaction:
                            session.execute_after_commit(statement)
        except (SchemaError, LockNotAvailable):  # the runner retries a lock timeout
            raise
        except Exception as error:  # the server's own message, located in the user's file
            raise SchemaError(
                f"{type(error).__name__}: {str(error).strip()}", obj.location, obj.describe()
            ) from error
        outcome.executed = session.take_executed()
        return outcome

    # -- shared steps -------------------------------------------------------------

    def create(self, obj: SchemaObject, session: Session, *hazards: Hazard) -> Action:
        """Run the object's statements exactly as written (`hazards`: what they cost
        besides what each says by itself)."""
        for statement in obj.statements:
            session.execute(as_planned(statement).with_hazards(*hazards))
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

    def refuse_wrong_engine(self, table: SchemaObject, session: Session) -> None:
        """A table TimescaleDB would convert is never built natively partitioned while
        TimescaleDB is declared and available but not yet installed (a run of a
        selection without the extension): that table could not be converted later."""
        assert self.graph is not None
        extension = self.graph.objects.get(("platform", "extension", "timescaledb"))
        if extension is not None and session.snapshot.extension_available("timescaledb"):
            raise SchemaError(
                f"{table.describe()} becomes a hypertable, and TimescaleDB is declared "
                f"({extension.location}) and available on this server but not installed: "
                "materialize platform/extension/timescaledb first (a full run orders it so)",
                table.location,
                table.describe(),
            )

    def upkeep(
        self,
        obj: SchemaObject,
        table: SchemaObject,
        session: Session,
        outcome: Outcome,
        create: bool = True,
        allow_hint: str | None = None,
        new_parent: bool = False,
    ) -> bool:
        """Create missing partitions (when `create`) and drop expired ones; report both.
        Dropping partitions long past retention with rows is refused unless `obj` (the
        object being applied) is allowed destructive changes (`allow_hint` says how).
        `new_parent`: `table` was created in this transaction."""
        assert self.graph is not None
        upkeep = partitions.plan(session, table, self.graph, self.now())
        if upkeep.holds_until is not None:
            self.holds_until(upkeep.holds_until)
        if not create:
            upkeep.create = []
        loss = retention.partition_loss(table, upkeep.overdue)
        losses = guard.refuse_destructive(
            obj, [guard.Change([], loss)], obj.key in self.allow_destructive, allow_hint
        )
        if losses:
            outcome.details["destructive_changes"] = losses
        outcome.after_commit += partitions.apply(session, table, upkeep, new_parent)
        if create:
            outcome.details["partitions_created"] = [name for name, _, _ in upkeep.create]
        outcome.details["partitions_dropped"] = upkeep.drop
        if upkeep.kept:
            outcome.details["partitions_kept_holding_newer_rows"] = upkeep.kept
        return not upkeep.empty

    # -- jobs: partition upkeep and aggregate refreshes on their own -----------------

    def maintain(self, table: SchemaObject, session: Session, allow_hint: str) -> Outcome:
        """One table's partition upkeep by itself (the maintenance job), in one
        transaction; TimescaleDB keeps a hypertable's chunks itself."""
        assert self.graph is not None
        outcome = Outcome(Action.UNCHANGED)
        hypertable = self.graph.attached(table, ObjectKind.HYPERTABLE)
        if hypertable is not None and self.native_hypertables:
            outcome.reason = "TimescaleDB keeps this hypertable's chunks itself"
            outcome.action = Action.NOT_APPLICABLE
            return outcome
        if partitions.partition_key(session, table.schema, table.name) is None:
            outcome.reason = "not partitioned on the server: materialize it first"
            return outcome
        session.take_executed()
        with (
            session.changing(changed_keys(table)),
            session.transaction(table.definition.search_path),
        ):
            if self.upkeep(table, table, session, outcome, allow_hint=allow_hint):
                outcome.action = Action.UPDATED
        for statement in outcome.after_commit:  # concurrent detaches, then their drops
            session.execute_after_commit(statement)
        outcome.executed = session.take_executed()
        return outcome

    def refresh(self, obj: SchemaObject, session: Session, window: Window | None = None) -> dict:
        """Refresh a continuous aggregate now (its refresh job, the backfill): here its
        materialized view, whole and CONCURRENTLY (a view has no windows)."""
        if session.snapshot.relkind(obj.schema, obj.name) != "m":
            raise SchemaError(
                f"{obj.qualified_name} is not materialized yet",
                obj.location,
                obj.describe(),
            )
        with session.changing(changed_keys(obj)):
            session.execute(planned(rollups.refresh_sql(obj), LockLevel.NONE, Hazard.FULL_SCAN))
        if window is None:
            return {"refreshed": "concurrently"}
        return {"refreshed": "whole view, concurrently (plain PostgreSQL has no windows)"}

    # -- one method per object kind ------------------------------------------------

    def apply_extension(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        version = session.snapshot.extension_version(obj.name)
        if version:
            outcome.details["version"] = version
            return Action.UNCHANGED
        if not session.snapshot.extension_available(obj.name):
            if obj.name == "timescaledb":
                if self.graph is not None:
                    outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
                return self.not_applicable(
                    obj, outcome, "TimescaleDB is not available on this server"
                )
            raise SchemaError(f"extension {obj.name} is not available on this server", obj.location)
        action = self.create(obj, session)
        outcome.details["version"] = session.snapshot.extension_version(obj.name)
        return action

    def apply_schema(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if isinstance(obj.declaration, ExistingSchema):  # public: completed, never created
            return self.apply_amendments(obj, session)
        if not session.snapshot.schema_exists(obj.name):
            return self.create(obj, session)
        if self.graph is not None:  # reported, never dropped (nor checked: neutral)
            with session.neutral():
                found = orphans.orphans(session, self.graph, {obj.name})
            outcome.details["orphans"] = [str(orphan) for orphan in found]
        return self.apply_amendments(obj, session)

    def apply_catalog_object(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        """An object the platform creates as written and checks for existence only."""
        if not catalog.catalog_object_exists(session, obj):
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    def apply_type(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if session.snapshot.type_kind(obj.schema, obj.name) is None:
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    apply_domain = apply_type

    def apply_sequence(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if session.snapshot.relkind(obj.schema, obj.name) is None:
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    def apply_function(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        live = session.snapshot.function_sources(obj.schema, obj.name)
        if not live:
            return self.create(obj, session)
        if function_body(obj.definition) in live:
            return self.apply_amendments(obj, session)
        session.execute(planned(or_replace(obj.definition)))
        return Action.UPDATED

    def apply_table(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        column = self.native_partition_column(obj)
        if session.snapshot.relkind(obj.schema, obj.name) is None:
            if column is None:
                action = self.create(obj, session)
            else:  # the hypertable's native form; its partitions come with the hypertable
                self.refuse_wrong_engine(obj, session)
                session.execute(partitions.partitioned_create(obj, column))
                for statement in obj.statements[1:]:
                    session.execute(as_planned(statement))
                action = Action.CREATED
        else:
            action = self.evolve_table(obj, session, outcome)
        if column is not None:
            outcome.details["engine_equivalent"] = f"partitioned by range ({column})"
        if is_range_partitioned(obj) and self.graph is not None:
            if "partition_interval" in obj.annotations:
                outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
            new = action == Action.CREATED
            if self.upkeep(obj, obj, session, outcome, new_parent=new) and action == (
                Action.UNCHANGED
            ):
                action = Action.UPDATED
        return action

    def evolve_table(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        """An existing table: ALTER it to its declaration (evolution/), refusing what
        loses data unless the object is allowed it; then the missing amendments."""
        changes = table_columns.column_changes(obj, session)
        allowed = obj.key in self.allow_destructive
        losses = guard.refuse_destructive(obj, changes, allowed)
        changes, rewrites = guard.refuse_rewrites(obj, changes, session, allowed)
        if rewrites:
            outcome.details["table_rewrites"] = rewrites
        self.run_changes(changes, session, outcome)
        if losses:
            outcome.details["destructive_changes"] = losses
        # Constraints once the columns match (a new column may bring its own).
        constraint_changes = constraints.constraint_changes(obj, session)
        self.run_changes(constraint_changes, session, outcome)
        amended = self.apply_amendments(obj, session)
        if changes or constraint_changes:
            return Action.UPDATED
        return amended

    @staticmethod
    def run_changes(changes: list[guard.Change], session: Session, outcome: Outcome) -> None:
        """Run the changes' statements in the transaction; those that must run after it
        commits (concurrent builds, validations) are queued, in order."""
        for change in changes:
            for statement in change.planned():
                if statement.outside_transaction:
                    outcome.after_commit.append(statement)
                else:
                    session.execute(statement)

    def apply_index(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        """On a table that holds rows, built without blocking writes (indexes.py), after
        the object's transaction; on an empty one as written, inside it."""
        assert obj.relation is not None
        live = indexes.live_index(session, obj)
        temporary = indexes.temporary_name(obj)
        # Left by a replacement interrupted before its swap: built again from the start.
        leftovers = (
            [drop_index_concurrently(obj.schema, temporary)] if live.temporary_exists else []
        )
        exists = live.exists
        if live.invalid:
            outcome.details["rebuilt_invalid"] = (
                f"{obj.schema}.{obj.name} was INVALID (a failed or cancelled concurrent "
                "build): dropped and built again"
            )
            outcome.after_commit += [*leftovers, self.drop_index(obj, session, obj.name)]
            leftovers, exists = [], False
        if not exists:
            online = catalog.holds_rows(session, obj.schema, obj.relation)
            if not online and not outcome.after_commit and not leftovers:
                return self.create(obj, session)
            self.build_index(obj, session, outcome, obj.name, leftovers)
            return Action.CREATED if "rebuilt_invalid" not in outcome.details else Action.UPDATED
        if replacements.index_changed(obj, session):
            if not catalog.holds_rows(session, obj.schema, obj.relation):
                # Dropped and rebuilt in one transaction: nothing waits for it.
                session.execute(
                    planned(
                        sql.SQL("DROP INDEX {}").format(sql.Identifier(obj.schema, obj.name)),
                        LockLevel.ACCESS_EXCLUSIVE,
                        Hazard.INDEX_DROPPED,
                    )
                )
                self.create(obj, session)
                return Action.UPDATED
            self.build_index(obj, session, outcome, temporary, leftovers, amend=False)
            outcome.after_commit += [
                self.drop_index(obj, session, obj.name),
                indexes.rename(obj.schema, temporary, obj.name),
                *(as_planned(statement) for statement in obj.statements[1:]),
            ]
            outcome.details["replaced"] = (
                f"built as {obj.schema}.{temporary}, the old index dropped, then renamed"
            )
            return Action.UPDATED
        return self.apply_amendments(obj, session)

    def build_index(
        self,
        obj: SchemaObject,
        session: Session,
        outcome: Outcome,
        name: str,
        before: list[PlannedStatement],
        amend: bool = True,
    ) -> None:
        """Build `obj` under `name` without blocking writes: what runs in the object's
        transaction now, the rest after it commits (`before` first)."""
        inside, after = self.index_build(obj, session, name)
        for statement in inside:
            session.execute(statement)
        outcome.after_commit += [*before, *after]
        if amend:  # its COMMENT and ALTERs, once it exists
            outcome.after_commit += [as_planned(statement) for statement in obj.statements[1:]]

    def index_build(
        self, obj: SchemaObject, session: Session, name: str
    ) -> tuple[list[PlannedStatement], list[PlannedStatement]]:
        """(in the transaction, after it) to build `obj` as `name` on a table in use:
        CONCURRENTLY; on a partitioned table ON ONLY, then each partition and ATTACH."""
        assert obj.relation is not None
        if session.snapshot.relkind(obj.schema, obj.relation) == "p":
            parent, after = indexes.partitioned_build(session, obj, name)
            return [parent], after
        return [], [indexes.concurrent_build(obj, name)]

    def drop_index(self, obj: SchemaObject, session: Session, name: str) -> PlannedStatement:
        """Drop an index after the transaction: concurrently, except a partitioned
        table's (the server cannot), which takes ACCESS EXCLUSIVE briefly."""
        assert obj.relation is not None
        if session.snapshot.relkind(obj.schema, obj.relation) != "p":
            return drop_index_concurrently(obj.schema, name)
        return planned(
            sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(obj.schema, name)),
            LockLevel.ACCESS_EXCLUSIVE,
            Hazard.INDEX_DROPPED,
            outside_transaction=True,
        )

    def apply_view(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if session.snapshot.relkind(obj.schema, obj.name) is None:
            return self.create(obj, session)
        change = replacements.view_change(obj, session)
        if change is None:
            return self.apply_amendments(obj, session)
        view = sql.Identifier(obj.schema, obj.name)
        if change.replace:
            session.execute(planned(or_replace(obj.definition), LockLevel.ACCESS_EXCLUSIVE))
        else:  # its columns change: a view that depends on it makes this fail, and says so
            session.execute(
                planned(sql.SQL("DROP VIEW {}").format(view), LockLevel.ACCESS_EXCLUSIVE)
            )
            session.execute(as_planned(obj.definition))
        for statement in obj.statements[1:]:
            session.execute(as_planned(statement))
        return Action.UPDATED

    def apply_materialized_view(
        self, obj: SchemaObject, session: Session, outcome: Outcome
    ) -> Action:
        if session.snapshot.relkind(obj.schema, obj.name) is None:
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    def apply_trigger(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert obj.relation is not None
        if session.snapshot.trigger_definition(obj.schema, obj.relation, obj.name) is None:
            return self.create(obj, session)
        if replacements.trigger_changed(obj, session):  # replaced in one transaction
            session.execute(
                planned(
                    sql.SQL("DROP TRIGGER {} ON {}").format(
                        sql.Identifier(obj.name), sql.Identifier(obj.schema, obj.relation)
                    ),
                    LockLevel.ACCESS_EXCLUSIVE,
                )
            )
            self.create(obj, session)
            return Action.UPDATED
        return Action.UNCHANGED

    def apply_amendments(self, obj: SchemaObject, session: Session) -> Action:
        """An existing object: run the later statements that the catalog shows missing,
        then the ownership, grants and comments that differ (access.py)."""
        changed = False
        for statement in obj.statements[1:]:
            if statement_access(statement) is None and amendment_missing(obj, statement, session):
                session.execute(as_planned(statement))
                changed = True
        for statement in access_statements_due(obj, session):
            session.execute(as_planned(statement))
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
        kind = session.snapshot.relkind(obj.schema, obj.name)
        if kind is None:
            session.execute(planned(rollups.materialized_view_sql(obj, self.graph)))
            session.execute(index_build(rollups.unique_index_sql(obj)))
            self.comments(obj, session)
            return Action.CREATED
        if kind != "m":
            raise SchemaError(
                f"{obj.qualified_name} exists but is not a materialized view",
                obj.location,
                obj.describe(),
            )
        live = aggregates.live_query(session, obj, timescale=False)
        declared = rollups.materialized_view_tree(obj, self.graph).expression
        sources = [
            (source.schema, source.name)
            for source in map(self.graph.objects.get, obj.depends_on)
            if source is not None and source.kind in RELATION_KINDS
        ]
        if live is not None and aggregates.query_changed(session, live, declared, sources):
            self.rebuild_view(obj, session, outcome)
            return Action.UPDATED
        if session.snapshot.relkind(obj.schema, rollups.group_index_name(obj)) is None:
            session.execute(index_build(rollups.unique_index_sql(obj)))
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
        session.execute(planned(sql.SQL("DROP MATERIALIZED VIEW IF EXISTS {}").format(rebuilt)))
        session.execute(planned(rollups.materialized_view_sql(obj, self.graph, name)))
        session.execute(index_build(rollups.unique_index_sql(obj, name)))
        for statement in swap_statements(obj, rebuilt):
            session.execute(statement)
        session.execute(
            planned(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    sql.Identifier(obj.schema, rollups.group_index_name(obj, name)),
                    sql.Identifier(rollups.group_index_name(obj)),
                ),
                LockLevel.SHARE_UPDATE_EXCLUSIVE,
            )
        )
        # Dropping the old view dropped what belonged to it: declare it again.
        self.comments(obj, session)
        for attached in self.graph.attachments(obj):
            if attached.kind in (ObjectKind.INDEX, ObjectKind.TRIGGER):
                self.create(attached, session)
        outcome.details["rebuilt"] = (
            f"built as {obj.schema}.{name} from its source, then swapped in"
        )

    def comments(self, obj: SchemaObject, session: Session) -> None:
        """An aggregate's COMMENTs, on its materialized view (TimescaleDB ALTERs have no peer)."""
        for statement in obj.statements[1:]:
            if isinstance(statement.tree, exp.Comment):
                session.execute(as_planned(statement))

    def apply_refresh_policy(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert self.graph is not None
        outcome.details["engine_equivalent"] = postgres_equivalent(obj, self.graph)
        return Action.UNCHANGED  # the Dagster schedule is the policy; nothing lives on the server

    def _no_equivalent(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert self.graph is not None
        equivalent = postgres_equivalent(obj, self.graph)
        outcome.details["engine_equivalent"] = equivalent
        return self.not_applicable(obj, outcome, equivalent.removeprefix("not applicable: "))

    def apply_job(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        return self.not_applicable(
            obj,
            outcome,
            "a TimescaleDB job runs in the server's background workers, which plain "
            f"PostgreSQL has not: call {obj.qualified_name} from a Dagster schedule instead",
        )

    apply_compression_settings = _no_equivalent
    apply_compression_policy = _no_equivalent
    apply_reorder_policy = _no_equivalent


def changed_keys(obj: SchemaObject) -> list[Key] | None:
    """The catalog entries applying `obj` may change: its own and its relation's (an
    index's table); None for an extension, whose objects are anywhere."""
    if obj.kind == ObjectKind.EXTENSION:
        return None
    keys = [(obj.schema, obj.name)]
    if obj.kind == ObjectKind.SCHEMA:  # the snapshot keys a schema by its name twice
        keys.append((obj.name, obj.name))
    if obj.relation is not None:
        keys.append((obj.schema, obj.relation))
    return keys


def as_planned(statement: Statement) -> PlannedStatement:
    """A statement of `sql/` as written, with the lock and hazards its parsed form says."""
    return declared(statement.text, statement.tree)


def swap_statements(obj: SchemaObject, rebuilt: sql.Identifier) -> list[PlannedStatement]:
    """Drop a relation and rename the copy built beside it (`rebuilt`) to its name."""
    return [
        planned(
            sql.SQL("DROP MATERIALIZED VIEW {}").format(sql.Identifier(obj.schema, obj.name)),
            LockLevel.ACCESS_EXCLUSIVE,
        ),
        alter_table(
            sql.SQL("ALTER MATERIALIZED VIEW {} RENAME TO {}").format(
                rebuilt, sql.Identifier(obj.name)
            )
        ),
    ]


def amendment_missing(obj: SchemaObject, statement: Statement, session: Session) -> bool:
    """Whether an ALTER/COMMENT that completes `obj` is not yet reflected in the catalog.

    Ownership, grants and comments are not amendments of this kind (access.py).
    """
    tree = statement.tree
    if isinstance(tree, exp.Alter):
        added = [a for a in tree.args.get("actions") or [] if isinstance(a, exp.AddConstraint)]
        if added and obj.kind == ObjectKind.TABLE:
            live = session.snapshot.constraint_names(obj.schema, obj.name)
            return any(name not in live for name in added_constraint_names(obj, statement))
    return False


def added_constraint_names(table: SchemaObject, statement: Statement) -> list[str]:
    """The names of the constraints an ALTER TABLE ... ADD adds: as written, or those
    PostgreSQL gives unnamed ones."""
    index = table.statements.index(statement)
    keys = table.declared(TableDefinition).keys
    names = constraint_names(table.name, [(k.name, k.kind.value, k.columns) for k in keys])
    return [name for key, name in zip(keys, names, strict=True) if key.statement == index]


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
