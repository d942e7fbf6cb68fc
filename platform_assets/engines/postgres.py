"""How each kind of object is applied on plain PostgreSQL, by inspecting the catalog first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from platform_assets import catalog, partitions
from platform_assets.compiler import SchemaGraph
from platform_assets.dialect import DIALECT
from platform_assets.engines.base import Action, Outcome
from platform_assets.errors import SchemaError
from platform_assets.health import is_range_partitioned
from platform_assets.objects import TIMESCALE_KINDS, ObjectKind, SchemaObject, Statement
from platform_assets.session import Session

Handler = Callable[[SchemaObject, Session, Outcome], Action]


class PostgresEngine:
    """Plain PostgreSQL. TimescaleDB declarations are reported as not applicable here."""

    name = "postgresql"
    version: str | None = None  # TimescaleDB's, when the engine is TimescaleDB

    def __init__(self, graph: SchemaGraph | None = None):
        # The whole graph, for objects whose form depends on others (a table that
        # a hypertable declaration will partition).
        self.graph = graph

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

    # -- one method per object kind ------------------------------------------------

    def apply_extension(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        version = catalog.extension_version(session, obj.name)
        if version:
            outcome.details["version"] = version
            return Action.UNCHANGED
        if not catalog.extension_available(session, obj.name):
            if obj.name == "timescaledb":
                return self.not_applicable(
                    obj, outcome, "TimescaleDB is not available on this server"
                )
            raise SchemaError(f"extension {obj.name} is not available on this server", obj.location)
        action = self.create(obj, session)
        outcome.details["version"] = catalog.extension_version(session, obj.name)
        return action

    def apply_schema(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if catalog.schema_exists(session, obj.name):
            return self.apply_amendments(obj, session)
        return self.create(obj, session)

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
        if catalog.relkind(session, obj.schema, obj.name) is None:
            action = self.create(obj, session)
        else:
            action = self.apply_amendments(obj, session)
        if is_range_partitioned(obj) and self.graph is not None:
            upkeep = partitions.plan(session, obj, self.graph, datetime.now(UTC))
            partitions.apply(session, obj, upkeep)
            outcome.details["partitions_created"] = [name for name, _, _ in upkeep.create]
            outcome.details["partitions_dropped"] = upkeep.drop
            if not upkeep.empty and action == Action.UNCHANGED:
                action = Action.UPDATED
        return action

    def apply_index(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        if catalog.relkind(session, obj.schema, obj.name) is None:
            return self.create(obj, session)
        return self.apply_amendments(obj, session)

    apply_view = apply_index
    apply_materialized_view = apply_index

    def apply_trigger(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert obj.relation is not None
        if not catalog.trigger_exists(session, obj.schema, obj.relation, obj.name):
            return self.create(obj, session)
        return Action.UNCHANGED

    def apply_amendments(self, obj: SchemaObject, session: Session) -> Action:
        """An existing object: run the later statements that the catalog shows missing."""
        changed = False
        for statement in obj.statements[1:]:
            if amendment_missing(obj, statement, session):
                session.execute(statement.text)
                changed = True
        return Action.UPDATED if changed else Action.UNCHANGED


def _timescale_not_applicable(
    self: PostgresEngine, obj: SchemaObject, session: Session, outcome: Outcome
) -> Action:
    return self.not_applicable(
        obj,
        outcome,
        f"{obj.kind.value.replace('_', ' ')} needs TimescaleDB, which this server lacks",
    )


for _kind in TIMESCALE_KINDS:
    setattr(PostgresEngine, f"apply_{_kind.value}", _timescale_not_applicable)


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
