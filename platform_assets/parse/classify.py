"""What each statement declares: a new object, or a change to one declared before it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from platform_assets.model.declarations import CatalogObject, Declaration, Dimension, UserJob
from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import CATALOG_KINDS, ObjectKind, SourceLocation, Statement
from platform_assets.parse.calls import bound_arguments, call_arguments
from platform_assets.parse.commands import (
    KIND_WORDS,
    LOOKUP_NAMESPACE,
    TokenReader,
    default_privileges,
    read_object,
)
from platform_assets.parse.declare import (
    added_dimension,
    columnstore_settings,
    continuous_aggregate,
    hypertable_conversion,
    job_limits,
    policy,
    relation_argument,
)
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import Name, fold_identifiers, regclass_name

# TimescaleDB calls (SELECT fn(...) or CALL fn(...)) and the object each declares.
TIMESCALE_CALLS: dict[str, ObjectKind] = {
    "create_hypertable": ObjectKind.HYPERTABLE,
    "add_dimension": ObjectKind.HYPERTABLE,
    "add_compression_policy": ObjectKind.COMPRESSION_POLICY,
    "add_columnstore_policy": ObjectKind.COMPRESSION_POLICY,
    "add_retention_policy": ObjectKind.RETENTION_POLICY,
    "add_reorder_policy": ObjectKind.REORDER_POLICY,
    "add_continuous_aggregate_policy": ObjectKind.REFRESH_POLICY,
    "set_integer_now_func": ObjectKind.HYPERTABLE,
}

# The calls that add a job and return its id (add_columnstore_policy is a procedure).
LIMITED_CALLS = frozenset(
    {
        "add_job",
        "add_compression_policy",
        "add_retention_policy",
        "add_reorder_policy",
        "add_continuous_aggregate_policy",
    }
)


@dataclass
class Creation:
    """An object a statement creates."""

    kind: ObjectKind
    name: Name
    relation: Name | None = None
    # The typed declaration read from the statement itself (tables get theirs once
    # every statement completing them is known).
    declaration: Declaration | None = None
    # Objects it refers to that its tree does not show (read from tokens).
    references: list[tuple[str, Name]] = field(default_factory=list)
    # CREATE ... IF NOT EXISTS: a repeat of the same object is that object.
    if_not_exists: bool = False


@dataclass
class Amendment:
    """A statement that completes an object declared elsewhere (ALTER, COMMENT, ...)."""

    target: Name
    # The namespace the target lives in: relation, type, function, schema or extension.
    namespace: str
    # TimescaleDB: add_dimension adds this dimension to the hypertable conversion.
    dimension: Dimension | None = None
    # TimescaleDB: set_integer_now_func names the hypertable's integer now function.
    integer_now_func: str | None = None
    # Where the target is not found by namespace alone (a policy or rule): its kind,
    # and the relation it is on.
    kind: ObjectKind | None = None
    relation: Name | None = None
    references: list[tuple[str, Name]] = field(default_factory=list)


@dataclass
class Removal:
    """`DROP <kind> [IF EXISTS] name`: only "start clean" before its CREATE is accepted."""

    kind: str  # as written: TABLE, VIEW, FUNCTION, ...
    name: Name
    if_exists: bool


@dataclass
class InsertedRows:
    """`INSERT INTO t [(columns)] VALUES ...`: rows of lookup data, loaded like a seed."""

    table: Name
    columns: list[str] | None  # None: every declared column, in order
    rows: list[list[str | None]]  # values as text, NULL as None
    lines: list[int]  # the file line of each row
    do_nothing: bool  # ON CONFLICT DO NOTHING: existing rows are never updated


def classify(statement: Statement) -> Creation | Amendment | Removal | InsertedRows:
    tree = statement.tree
    if isinstance(tree, exp.Insert):
        return _classify_insert(tree, statement)
    if isinstance(tree, exp.Drop):
        targets = tree.args.get("tables") or [tree.this]
        target = targets[0]
        if isinstance(target, exp.Table) and isinstance(target.this, exp.Anonymous):
            name = Name(target.db or None, target.this.name)  # DROP FUNCTION f(args)
        else:
            name = _name(target)
        kind = (tree.args.get("kind") or "").upper()
        if tree.args.get("materialized"):
            kind = f"MATERIALIZED {kind}"
        # Several at once cannot be "directly followed by the CREATE" of each.
        return Removal(kind, name, bool(tree.args.get("exists")) and len(targets) == 1)
    if isinstance(tree, exp.Create):
        return _classify_create(tree, statement)
    if isinstance(tree, exp.Alter):
        return _classify_alter(tree, statement)
    if isinstance(tree, exp.Comment):
        return _classify_comment(tree, statement)
    if isinstance(tree, exp.Grant | exp.Revoke):
        return _classify_grant(tree, statement)
    if isinstance(tree, exp.Select):
        call = single_call(tree)
        if call is not None:
            return _classify_timescale_call(call, statement)
    if isinstance(tree, exp.Command):
        return _classify_command(statement)
    raise _unsupported(statement)


def _classify_insert(tree: exp.Insert, statement: Statement) -> InsertedRows:
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    columns = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else None
    values = tree.expression
    instead = "put the rows in seeds/<schema>/<table>.csv"
    if not isinstance(values, exp.Values):
        raise SchemaError(
            f"INSERT INTO {table.sql(DIALECT)}: only VALUES rows are seed data (this inserts "
            f"a query's result, which depends on the database); {instead}",
            statement.location,
        )
    conflict = tree.args.get("conflict")
    do_nothing = conflict is not None and "NOTHING" in conflict.sql(DIALECT).upper()
    if conflict is not None and not do_nothing:
        raise SchemaError(
            f"INSERT INTO {table.sql(DIALECT)}: ON CONFLICT DO UPDATE is how every seed loads "
            "already (an upsert on the table's key); write ON CONFLICT DO NOTHING or no ON "
            "CONFLICT clause",
            statement.location,
        )
    rows: list[list[str | None]] = []
    lines: list[int] = []
    for row in values.expressions:
        cells = row.expressions if isinstance(row, exp.Tuple) else [row]
        line = _line_of(row, statement.location.line)
        rows.append([_constant(cell, table, line, statement) for cell in cells])
        lines.append(line)
    return InsertedRows(_name(table), columns, rows, lines, do_nothing)


def _line_of(node: exp.Expr, default: int) -> int:
    for found in node.walk():
        line = found.meta.get("line") if found.meta else None
        if line:
            return int(line)
    return default


def _constant(node: exp.Expr, table: exp.Expr, line: int, statement: Statement) -> str | None:
    """A VALUES cell as the text a CSV seed would hold (the server converts it)."""
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return node.this.name
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return f"-{node.this.name}"
    if isinstance(node, exp.Literal):
        return node.name
    raise SchemaError(
        f"INSERT INTO {table.sql(DIALECT)}: {node.sql(DIALECT)} is not a constant; seed rows "
        "hold values (compute it with a column DEFAULT, or in a view)",
        SourceLocation(statement.location.file, line),
    )


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
    return _classify_command(statement)


def _classify_grant(tree: exp.Grant | exp.Revoke, statement: Statement) -> Amendment:
    """GRANT / REVOKE on one object: a completion of it."""
    securable = tree.args.get("securable")
    words = tuple((tree.args.get("kind") or "TABLE").upper().split())
    kind = next((k for w, k in KIND_WORDS if w == words), None)
    if kind is None or not isinstance(securable, exp.Table):
        return _classify_command(statement)
    if isinstance(securable.this, exp.Anonymous):  # a function with its argument types
        name = Name(securable.db or None, securable.this.name)
    elif kind in (ObjectKind.SCHEMA, ObjectKind.EXTENSION):
        name = Name(None, securable.name)
    else:
        name = _name(securable)
    return Amendment(name, LOOKUP_NAMESPACE.get(kind, kind.value), kind=_amended_kind(kind))


def _amended_kind(kind: ObjectKind) -> ObjectKind | None:
    # Amendment.kind names a kind only where the target is not found by namespace alone.
    return kind if kind not in LOOKUP_NAMESPACE else None


def _classify_timescale_call(call: exp.Anonymous, statement: Statement) -> Creation | Amendment:
    function = call.name.lower()
    if function == "add_job":
        return _classify_job(call, statement)
    if function == "alter_job":
        return _classify_limited_job(call, statement)
    if function not in TIMESCALE_CALLS:
        raise _unsupported(statement)
    relation_literal = relation_argument(call)
    if not isinstance(relation_literal, str):
        raise SchemaError(
            f"{function}: the first argument must be the relation name as a string literal",
            statement.location,
        )
    relation = regclass_name(relation_literal)
    kind = TIMESCALE_CALLS[function]
    if function == "set_integer_now_func":
        now = call_arguments(call).get("integer_now_func")
        if not isinstance(now, str):
            raise SchemaError(
                "set_integer_now_func: the function must be named as a string literal",
                statement.location,
            )
        return Amendment(
            relation,
            "relation",
            integer_now_func=now,
            references=[("function", regclass_name(now))],
        )
    if function == "add_dimension":
        return Amendment(relation, "relation", dimension=added_dimension(call))
    declaration = hypertable_conversion(call) if kind == ObjectKind.HYPERTABLE else policy(call)
    return Creation(
        kind, Name(relation.schema, kind.value), relation=relation, declaration=declaration
    )


def _classify_job(call: exp.Anonymous, statement: Statement) -> Creation:
    """`add_job('schema.procedure', schedule_interval, ...)`: a user-defined action."""
    procedure = call_arguments(call).get("proc")
    if not isinstance(procedure, str):
        raise SchemaError(
            "add_job: the procedure must be named as a string literal", statement.location
        )
    name = regclass_name(procedure)
    return Creation(
        ObjectKind.JOB,
        name,
        declaration=UserJob((procedure,)),
        references=[("function", name)],
    )


def _classify_limited_job(call: exp.Anonymous, statement: Statement) -> Creation:
    """`alter_job(add_*(...), max_runtime => ..., ...)`: the job the inner call adds, with
    its run limits. A job id differs from one database to the next, so only a job added
    in the same statement can be altered."""
    job = bound_arguments(call).get("job_id")
    if not (isinstance(job, exp.Anonymous) and job.name.lower() in LIMITED_CALLS):
        raise SchemaError(
            "alter_job takes a job id, which differs from one database to the next: declare "
            "the settings in the add_job or add_*_policy call itself, and its run limits by "
            "wrapping that call, e.g. SELECT alter_job(add_retention_policy(...), "
            "max_retries => 3) (the platform changes an existing job with alter_job when "
            "they differ)",
            statement.location,
        )
    try:
        limits = job_limits(call)
    except SchemaError as error:
        raise SchemaError(error.message, statement.location) from None
    found = _classify_timescale_call(job, statement)
    assert isinstance(found, Creation)  # each of LIMITED_CALLS creates a job
    found.declaration = replace(found.declaration, limits=limits)
    return found


def _classify_command(statement: Statement) -> Creation | Amendment:
    """Statements sqlglot keeps as a bare Command, read from their tokens (commands.py)."""
    tokens = statement.tokens or sqlglot.tokenize(statement.text, read=DIALECT)
    offset = statement.tokens[0].start if statement.tokens else 0
    reader = TokenReader(tokens, statement.text, offset)
    if reader.match("CALL") and reader.tokens[1:]:
        # After CALL the tokenizer keeps the rest of the statement as one token.
        try:
            query = sqlglot.parse_one("SELECT " + reader.tokens[1].text, read=DIALECT)
            call = single_call(fold_identifiers(query))
        except ParseError as error:
            raise SchemaError(f"cannot parse the CALL: {error}", statement.location) from error
        if call is not None:
            return _classify_timescale_call(call, statement)
        raise _unsupported(statement)
    if reader.match("CREATE"):
        reader.match("OR", "REPLACE")
        return _classify_created(reader, statement)
    if reader.match("ALTER", "DEFAULT", "PRIVILEGES"):
        found = default_privileges(reader)
        return Creation(found.kind, found.name, declaration=CatalogObject(found.identity))
    if reader.match("ALTER"):
        return _classify_altered(reader, statement)
    if reader.match("COMMENT", "ON") or reader.match("GRANT") or reader.match("REVOKE"):
        return _classify_completion(reader, statement)
    if reader.match("SECURITY", "LABEL"):
        if reader.match("FOR"):
            reader.identifier()
        return _classify_completion(reader, statement)
    raise _unsupported(statement)


def _classify_created(reader: TokenReader, statement: Statement) -> Creation:
    kind = reader.kind()
    if kind is None:
        raise _unsupported(statement)
    if_not_exists = reader.words[:3] == ["IF", "NOT", "EXISTS"]
    found = read_object(reader, kind)
    if kind in CATALOG_KINDS:
        references = found.references + [
            ("relation", name) for name in reader.names_after("FOR", "TABLE")
        ]
        return Creation(
            kind,
            found.name,
            relation=found.relation,
            declaration=CatalogObject(found.identity),
            references=references,
        )
    if kind == ObjectKind.EXTENSION:
        return Creation(kind, Name(None, found.name.name), if_not_exists=if_not_exists)
    if kind == ObjectKind.TRIGGER and found.relation is not None:  # CREATE CONSTRAINT TRIGGER
        return Creation(kind, Name(None, found.name.name), relation=found.relation)
    if kind in (ObjectKind.FUNCTION, ObjectKind.DOMAIN, ObjectKind.TYPE):
        return Creation(kind, found.name)
    raise _unsupported(statement)


def _classify_altered(reader: TokenReader, statement: Statement) -> Amendment:
    """`ALTER <kind> <name> ...`: a completion of that object.

    Attaching a partition (table or index) completes the partition, which pg_dump
    declares after its parent: it runs once both exist.
    """
    kind = reader.kind()
    if kind is None:
        raise _unsupported(statement)
    reader.skip_if_exists()
    reader.skip("ONLY")
    found = read_object(reader, kind)
    namespace = LOOKUP_NAMESPACE.get(kind, kind.value)
    attached = reader.names_after("ATTACH", "PARTITION")
    if attached and namespace == "relation":
        return Amendment(attached[0], "relation", references=[("relation", found.name)])
    references: list[tuple[str, Name]] = []
    if kind == ObjectKind.SEQUENCE and reader.match("OWNED", "BY"):
        parts = reader.dotted()[:-1]  # schema.table.column: the table
        if parts:
            # A completion of the owning table (pg_dump's serial columns: the table's
            # `SET DEFAULT nextval(...)` needs the sequence first, so it cannot own it).
            owner = Name(parts[-2] if len(parts) > 1 else None, parts[-1])
            return Amendment(owner, "relation", references=[("relation", found.name)])
    if kind == ObjectKind.PUBLICATION:
        references += [("relation", name) for name in reader.names_after("TABLE")]
    return Amendment(
        found.name,
        namespace,
        kind=_amended_kind(kind),
        relation=found.relation,
        references=references,
    )


def _classify_completion(reader: TokenReader, statement: Statement) -> Amendment:
    """COMMENT ON / GRANT / REVOKE / SECURITY LABEL ON one object, read from tokens."""
    words = reader.words
    if "ON" in words and words[0] != "ON":  # GRANT privileges ON kind name
        reader.position += words.index("ON")
    reader.match("ON")
    if reader.match("CONSTRAINT"):  # COMMENT ON CONSTRAINT c ON table / ON DOMAIN d
        reader.identifier()
        reader.match("ON")
        if reader.match("DOMAIN"):
            return Amendment(reader.qualified_name(), "type")
        return Amendment(reader.qualified_name(), "relation")
    if reader.match("LARGE", "OBJECT"):
        raise SchemaError(
            "large objects are data, not schema: the platform does not declare them; "
            "remove the statement (pg_dump --schema-only writes none)",
            statement.location,
        )
    kind = reader.kind() or ObjectKind.TABLE  # GRANT SELECT ON t: a table
    found = read_object(reader, kind)
    return Amendment(
        found.name,
        LOOKUP_NAMESPACE.get(kind, kind.value),
        kind=_amended_kind(kind),
        relation=found.relation,
    )


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


def _unsupported(statement: Statement) -> SchemaError:
    first_line = statement.text.strip().splitlines()[0][:80]
    return SchemaError(
        f"unsupported statement (the platform declares objects; this is not one): {first_line}"
        " -- it neither creates an object, completes one nor sets the session: declare "
        "objects with CREATE, complete them with ALTER, COMMENT or GRANT, and write rows as "
        "INSERT ... VALUES or in seeds/<schema>/<table>.csv",
        statement.location,
    )
