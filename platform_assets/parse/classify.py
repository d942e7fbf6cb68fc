"""What each statement declares: a new object, or a change to one declared before it."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

from platform_assets.model.declarations import Declaration, Dimension
from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import ObjectKind, Statement
from platform_assets.parse.declare import (
    added_dimension,
    columnstore_settings,
    continuous_aggregate,
    hypertable_conversion,
    policy,
    relation_argument,
)
from platform_assets.parse.dialect import DIALECT

# TimescaleDB calls (SELECT fn(...) or CALL fn(...)) and the object each declares.
TIMESCALE_CALLS: dict[str, ObjectKind] = {
    "create_hypertable": ObjectKind.HYPERTABLE,
    "add_dimension": ObjectKind.HYPERTABLE,
    "add_compression_policy": ObjectKind.COMPRESSION_POLICY,
    "add_columnstore_policy": ObjectKind.COMPRESSION_POLICY,
    "add_retention_policy": ObjectKind.RETENTION_POLICY,
    "add_reorder_policy": ObjectKind.REORDER_POLICY,
    "add_continuous_aggregate_policy": ObjectKind.REFRESH_POLICY,
}


@dataclass
class Name:
    schema: str | None
    name: str


@dataclass
class Creation:
    """An object a statement creates."""

    kind: ObjectKind
    name: Name
    relation: Name | None = None
    # The typed declaration read from the statement itself (tables get theirs once
    # every statement completing them is known).
    declaration: Declaration | None = None


@dataclass
class Amendment:
    """A statement that completes an object declared elsewhere (ALTER, COMMENT, ...)."""

    target: Name
    # The namespace the target lives in: relation, type, function, schema or extension.
    namespace: str
    # TimescaleDB: add_dimension adds this dimension to the hypertable conversion.
    dimension: Dimension | None = None


def classify(statement: Statement) -> Creation | Amendment:
    tree = statement.tree
    if isinstance(tree, exp.Create):
        return _classify_create(tree, statement)
    if isinstance(tree, exp.Alter):
        return _classify_alter(tree, statement)
    if isinstance(tree, exp.Comment):
        return _classify_comment(tree, statement)
    if isinstance(tree, exp.Grant | exp.Revoke):
        securable = tree.args.get("securable")
        if isinstance(securable, exp.Table):
            return Amendment(_name(securable), "relation")
    if isinstance(tree, exp.Select):
        call = single_call(tree)
        if call is not None:
            return _classify_timescale_call(call, statement)
    if isinstance(tree, exp.Command):
        return _classify_command(statement)
    raise _unsupported(statement)


def _classify_create(tree: exp.Create, statement: Statement) -> Creation:
    kind = (tree.args.get("kind") or "").upper()
    target = tree.this
    if kind == "SCHEMA":
        return Creation(ObjectKind.SCHEMA, Name(None, target.db or target.name))
    if kind == "TABLE":
        table = target.this if isinstance(target, exp.Schema) else target
        return Creation(ObjectKind.TABLE, _name(table))
    if kind == "INDEX":
        return Creation(
            ObjectKind.INDEX,
            Name(None, target.name),
            relation=_name(target.args["table"]),
        )
    if kind == "VIEW":
        materialized = tree.find(exp.MaterializedProperty) is not None
        if not materialized:
            return Creation(ObjectKind.VIEW, _name(target))
        continuous = any(
            type(prop) is exp.Property
            and prop.this.sql(DIALECT).lower() in ("timescaledb.continuous", "tsdb.continuous")
            for prop in tree.find_all(exp.Property)
        )
        if continuous:
            return Creation(
                ObjectKind.CONTINUOUS_AGGREGATE,
                _name(target),
                declaration=continuous_aggregate(tree),
            )
        return Creation(ObjectKind.MATERIALIZED_VIEW, _name(target))
    if kind == "TYPE":
        return Creation(ObjectKind.TYPE, _name(target))
    if kind == "SEQUENCE":
        return Creation(ObjectKind.SEQUENCE, _name(target))
    if kind == "TRIGGER":
        trigger = tree.find(exp.TriggerProperties)
        return Creation(
            ObjectKind.TRIGGER, Name(None, target.name), relation=_name(trigger.args["table"])
        )
    if kind in ("FUNCTION", "PROCEDURE"):
        return Creation(
            ObjectKind.FUNCTION,
            _name(target.this if isinstance(target, exp.UserDefinedFunction) else target),
        )
    raise _unsupported(statement)


def _classify_alter(tree: exp.Alter, statement: Statement) -> Creation | Amendment:
    target = _name(tree.this)
    kind = (tree.args.get("kind") or "").upper()
    if kind == "TABLE":
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.AlterSet):
                options = _timescale_options(action)
                if options:
                    return Creation(
                        ObjectKind.COMPRESSION_SETTINGS,
                        Name(target.schema, ObjectKind.COMPRESSION_SETTINGS.value),
                        relation=target,
                        declaration=columnstore_settings(options),
                    )
        return Amendment(target, "relation")
    if kind in ("SEQUENCE", "VIEW", "INDEX", "MATERIALIZED VIEW"):
        return Amendment(target, "relation")
    raise _unsupported(statement)


def _timescale_options(action: exp.AlterSet) -> dict[str, object]:
    options: dict[str, object] = {}
    for item in action.expressions:
        if isinstance(item, exp.EQ):
            key, value = item.this, item.expression
        else:
            key, value = item, exp.true()
        name = (
            key.sql(DIALECT).lower()
            if not isinstance(key, exp.Column)
            else ".".join(part.name.lower() for part in key.parts)
        )
        if name.startswith(("timescaledb.", "tsdb.")):
            option = name.split(".", 1)[1]
            options[option] = value.name if isinstance(value, exp.Literal) else value.sql(DIALECT)
    return options


def _classify_comment(tree: exp.Comment, statement: Statement) -> Amendment:
    kind = (tree.args.get("kind") or "").upper()
    target = tree.this
    if kind in ("TABLE", "VIEW", "MATERIALIZED VIEW", "INDEX", "SEQUENCE"):
        return Amendment(_name(target), "relation")
    if kind == "COLUMN":
        # COMMENT ON COLUMN schema.table.column
        parts = [p.name for p in target.parts] if isinstance(target, exp.Column) else []
        if len(parts) >= 2:
            return Amendment(Name(parts[-3] if len(parts) == 3 else None, parts[-2]), "relation")
    if kind == "SCHEMA":
        return Amendment(Name(None, target.name), "schema")
    if kind == "EXTENSION":
        return Amendment(Name(None, target.name), "extension")
    if kind in ("TYPE", "DOMAIN"):
        return Amendment(_name(target), "type")
    if kind in ("FUNCTION", "PROCEDURE"):
        return Amendment(_name(target), "function")
    raise _unsupported(statement)


def _classify_timescale_call(call: exp.Anonymous, statement: Statement) -> Creation | Amendment:
    function = call.name.lower()
    if function not in TIMESCALE_CALLS:
        raise _unsupported(statement)
    relation_literal = relation_argument(call)
    if not isinstance(relation_literal, str):
        raise SchemaError(
            f"{function}: the first argument must be the relation name as a string literal",
            statement.location,
        )
    relation = _dotted_name(relation_literal)
    kind = TIMESCALE_CALLS[function]
    if function == "add_dimension":
        return Amendment(relation, "relation", dimension=added_dimension(call))
    declaration = hypertable_conversion(call) if kind == ObjectKind.HYPERTABLE else policy(call)
    return Creation(
        kind, Name(relation.schema, kind.value), relation=relation, declaration=declaration
    )


def _classify_command(statement: Statement) -> Creation | Amendment:
    """Statements sqlglot keeps as a bare Command, read from their tokens."""
    tokens = [
        t
        for t in sqlglot.tokenize(statement.text, read=DIALECT)
        if t.token_type != TokenType.SEMICOLON
    ]
    words = [t.text.upper() for t in tokens]
    if words[:1] == ["CALL"] and len(tokens) > 1:
        # After CALL the tokenizer keeps the rest of the statement as one token.
        try:
            call = single_call(sqlglot.parse_one("SELECT " + tokens[1].text, read=DIALECT))
        except ParseError as error:
            raise SchemaError(f"cannot parse the CALL: {error}", statement.location) from error
        if call is not None:
            return _classify_timescale_call(call, statement)
    if words[:1] == ["CREATE"]:
        position = 1
        if words[1:3] == ["OR", "REPLACE"]:
            position = 3
        keyword = words[position] if position < len(words) else ""
        name_tokens = _skip_if_not_exists(tokens[position + 1 :])
        name = _token_name(name_tokens)
        if keyword == "EXTENSION":
            return Creation(ObjectKind.EXTENSION, Name(None, name.name))
        if keyword in ("FUNCTION", "PROCEDURE", "AGGREGATE"):
            return Creation(ObjectKind.FUNCTION, name)
        if keyword == "DOMAIN":
            return Creation(ObjectKind.DOMAIN, name)
    if words[:2] == ["ALTER", "TABLE"] or words[:2] == ["ALTER", "SEQUENCE"]:
        name_tokens = tokens[2:]
        if name_tokens and name_tokens[0].text.upper() in ("ONLY", "IF"):
            name_tokens = _skip_if_not_exists(
                name_tokens[1:] if name_tokens[0].text.upper() == "ONLY" else name_tokens
            )
        return Amendment(_token_name(name_tokens), "relation")
    if words[:2] in (["ALTER", "FUNCTION"], ["ALTER", "PROCEDURE"]):
        return Amendment(_token_name(tokens[2:]), "function")
    if words[:2] in (["ALTER", "TYPE"], ["ALTER", "DOMAIN"]):
        return Amendment(_token_name(tokens[2:]), "type")
    if words[:2] == ["ALTER", "SCHEMA"]:
        return Amendment(Name(None, tokens[2].text), "schema")
    raise _unsupported(statement)


def _skip_if_not_exists(tokens: list[Token]) -> list[Token]:
    words = [t.text.upper() for t in tokens[:3]]
    if words == ["IF", "NOT", "EXISTS"]:
        return tokens[3:]
    if words[:2] == ["IF", "EXISTS"]:
        return tokens[2:]
    return tokens


def _token_name(tokens: list[Token]) -> Name:
    """`schema.name` or `name` at the start of a token list."""
    if len(tokens) >= 3 and tokens[1].token_type == TokenType.DOT:
        return Name(_identifier_text(tokens[0]), _identifier_text(tokens[2]))
    if tokens:
        return Name(None, _identifier_text(tokens[0]))
    raise SchemaError("expected an object name")


def _identifier_text(token: Token) -> str:
    # Quoted identifiers keep their case; bare ones fold to lower case as in PostgreSQL.
    return token.text if token.token_type == TokenType.IDENTIFIER else token.text.lower()


def single_call(tree: exp.Expr) -> exp.Anonymous | None:
    if isinstance(tree, exp.Select) and len(tree.expressions) == 1 and not tree.args.get("from"):
        call = tree.expressions[0]
        if isinstance(call, exp.Alias):
            call = call.this
        if isinstance(call, exp.Dot):
            call = call.expression
        if isinstance(call, exp.Anonymous):
            return call
    return None


def _name(table: exp.Expr) -> Name:
    if isinstance(table, exp.Table):
        return Name(table.db or None, table.name)
    if isinstance(table, exp.Dot):
        return Name(table.this.name, table.expression.name)
    return Name(None, table.name)


def _dotted_name(text: str) -> Name:
    # Parsed as a table name so quoting rules match PostgreSQL's regclass input.
    table = exp.to_table(text, dialect=DIALECT)
    return Name(table.db or None, table.name)


def _unsupported(statement: Statement) -> SchemaError:
    first_line = statement.text.strip().splitlines()[0][:80]
    return SchemaError(
        f"unsupported statement (the platform declares objects; this is not one): {first_line}",
        statement.location,
    )
