"""What each statement declares: a new object, or a change to one declared before it."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import ObjectKind, Statement
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

# Positional parameter names of those calls, so positional and named forms read alike.
CALL_PARAMETERS: dict[str, tuple[str, ...]] = {
    "create_hypertable": ("relation", "dimension"),
    "add_dimension": ("relation", "dimension"),
    "add_compression_policy": ("relation", "compress_after"),
    "add_columnstore_policy": ("relation", "after"),
    "add_retention_policy": ("relation", "drop_after"),
    "add_reorder_policy": ("relation", "index_name"),
    "add_continuous_aggregate_policy": (
        "relation",
        "start_offset",
        "end_offset",
        "schedule_interval",
    ),
    "by_range": ("column_name", "partition_interval"),
    "by_hash": ("column_name", "number_partitions"),
}
LEGACY_HYPERTABLE_PARAMETERS = ("relation", "time_column_name", "partitioning_column")
LEGACY_DIMENSION_PARAMETERS = ("relation", "column_name", "number_partitions")


@dataclass
class Name:
    schema: str | None
    name: str


@dataclass
class Declaration:
    """An object a statement creates."""

    kind: ObjectKind
    name: Name
    relation: Name | None = None
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class Amendment:
    """A statement that completes an object declared elsewhere (ALTER, COMMENT, ...)."""

    target: Name
    # The namespace the target lives in: relation, type, function, schema or extension.
    namespace: str
    # TimescaleDB: the call adds to this object kind (add_dimension -> hypertable).
    kind: ObjectKind | None = None
    params: dict[str, object] = field(default_factory=dict)


def classify(statement: Statement) -> Declaration | Amendment:
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


def _classify_create(tree: exp.Create, statement: Statement) -> Declaration:
    kind = (tree.args.get("kind") or "").upper()
    target = tree.this
    if kind == "SCHEMA":
        return Declaration(ObjectKind.SCHEMA, Name(None, target.db or target.name))
    if kind == "TABLE":
        table = target.this if isinstance(target, exp.Schema) else target
        return Declaration(ObjectKind.TABLE, _name(table))
    if kind == "INDEX":
        return Declaration(
            ObjectKind.INDEX,
            Name(None, target.name),
            relation=_name(target.args["table"]),
        )
    if kind == "VIEW":
        materialized = tree.find(exp.MaterializedProperty) is not None
        if not materialized:
            return Declaration(ObjectKind.VIEW, _name(target))
        continuous = any(
            type(prop) is exp.Property
            and prop.this.sql(DIALECT).lower() in ("timescaledb.continuous", "tsdb.continuous")
            for prop in tree.find_all(exp.Property)
        )
        if continuous:
            return Declaration(ObjectKind.CONTINUOUS_AGGREGATE, _name(target))
        return Declaration(ObjectKind.MATERIALIZED_VIEW, _name(target))
    if kind == "TYPE":
        return Declaration(ObjectKind.TYPE, _name(target))
    if kind == "SEQUENCE":
        return Declaration(ObjectKind.SEQUENCE, _name(target))
    if kind == "TRIGGER":
        trigger = tree.find(exp.TriggerProperties)
        return Declaration(
            ObjectKind.TRIGGER, Name(None, target.name), relation=_name(trigger.args["table"])
        )
    if kind in ("FUNCTION", "PROCEDURE"):
        return Declaration(
            ObjectKind.FUNCTION,
            _name(target.this if isinstance(target, exp.UserDefinedFunction) else target),
        )
    raise _unsupported(statement)


def _classify_alter(tree: exp.Alter, statement: Statement) -> Declaration | Amendment:
    target = _name(tree.this)
    kind = (tree.args.get("kind") or "").upper()
    if kind == "TABLE":
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.AlterSet):
                options = _timescale_options(action)
                if options:
                    return Declaration(
                        ObjectKind.COMPRESSION_SETTINGS,
                        Name(target.schema, ObjectKind.COMPRESSION_SETTINGS.value),
                        relation=target,
                        params=options,
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


def _classify_timescale_call(call: exp.Anonymous, statement: Statement) -> Declaration | Amendment:
    function = call.name.lower()
    if function not in TIMESCALE_CALLS:
        raise _unsupported(statement)
    args = call_arguments(call)
    relation_literal = args.get("relation") or args.get("hypertable")
    if not isinstance(relation_literal, str):
        raise SchemaError(
            f"{function}: the first argument must be the relation name as a string literal",
            statement.location,
        )
    relation = _dotted_name(relation_literal)
    kind = TIMESCALE_CALLS[function]
    params = {"function": function, **args}
    if function == "add_dimension":
        return Amendment(relation, "relation", kind=ObjectKind.HYPERTABLE, params=params)
    return Declaration(kind, Name(relation.schema, kind.value), relation=relation, params=params)


def call_arguments(call: exp.Anonymous) -> dict[str, object]:
    """A function call's arguments by parameter name, literals as their text.

    Nested dimension builders (`by_range('ts', INTERVAL '1 day')`) become a dict
    with their own name under "builder".
    """
    function = call.name.lower()
    names = CALL_PARAMETERS.get(function, ())
    positional = [a for a in call.expressions if not isinstance(a, exp.Kwarg)]
    if (
        function == "create_hypertable"
        and len(positional) > 1
        and isinstance(positional[1], exp.Literal)
    ):
        names = LEGACY_HYPERTABLE_PARAMETERS
    if (
        function == "add_dimension"
        and len(positional) > 1
        and isinstance(positional[1], exp.Literal)
    ):
        names = LEGACY_DIMENSION_PARAMETERS
    values: dict[str, object] = {}
    index = 0
    for arg in call.expressions:
        if isinstance(arg, exp.Kwarg):
            values[arg.this.name.lower()] = _literal_value(arg.expression)
        else:
            key = names[index] if index < len(names) else f"arg{index}"
            values[key] = _literal_value(arg)
            index += 1
    return values


def _literal_value(node: exp.Expr) -> object:
    if isinstance(node, exp.Literal):
        return node.name if node.is_string else node.to_py()
    if isinstance(node, exp.Interval):
        unit = node.unit.name if node.unit else ""
        return f"{node.this.name} {unit}".strip()
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return node.this.name
    if isinstance(node, exp.Anonymous):
        return {"builder": node.name.lower(), **call_arguments(node)}
    return node.sql(DIALECT)


def _classify_command(statement: Statement) -> Declaration | Amendment:
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
            return Declaration(ObjectKind.EXTENSION, Name(None, name.name))
        if keyword in ("FUNCTION", "PROCEDURE", "AGGREGATE"):
            return Declaration(ObjectKind.FUNCTION, name)
        if keyword == "DOMAIN":
            return Declaration(ObjectKind.DOMAIN, name)
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
