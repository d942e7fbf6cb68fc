"""A table's columns, keys and partitioning, read from its CREATE TABLE and the
ALTER TABLE ... ADD CONSTRAINT statements that complete it."""

from __future__ import annotations

import itertools

from sqlglot import exp

from platform_assets.model.declarations import (
    Column,
    KeyKind,
    Partitioning,
    TableDefinition,
    TableKey,
)
from platform_assets.model.objects import Statement
from platform_assets.parse.commands import identity_added
from platform_assets.parse.dialect import DIALECT, NotNullConstraint, WithoutOverlaps

_KEY_KINDS: dict[type[exp.Expr], KeyKind] = {
    exp.PrimaryKey: KeyKind.PRIMARY,
    exp.UniqueColumnConstraint: KeyKind.UNIQUE,
    exp.ForeignKey: KeyKind.FOREIGN,
    exp.CheckColumnConstraint: KeyKind.CHECK,
    exp.ExcludeColumnConstraint: KeyKind.EXCLUSION,
}
_SHAPING_CONSTRAINTS = (
    exp.NotNullColumnConstraint,
    exp.DefaultColumnConstraint,
    exp.GeneratedAsIdentityColumnConstraint,
    exp.ComputedColumnConstraint,  # a generated column's expression (stored or virtual)
)


def table_definition(statements: list[Statement]) -> TableDefinition:
    """The table declared by `statements[0]` (a CREATE TABLE) and completed by the rest."""
    create = statements[0].tree
    schema = create.this if isinstance(create.this, exp.Schema) else None
    keys: list[TableKey] = []
    column_defs: list[exp.ColumnDef] = []
    for item in schema.expressions if schema is not None else []:
        if isinstance(item, exp.ColumnDef):
            column_defs.append(item)
            for constraint in item.args.get("constraints") or []:
                node = _table_level(item.this, constraint.kind)
                if node is not None:
                    name = constraint.this.name if constraint.this else None
                    keys.append(_key(name, node, 0, line_of(item.this), column_level=True))
        elif isinstance(item, exp.Constraint) and type(_first(item)) in _KEY_KINDS:
            keys.append(_key(item.name, _first(item), 0))
        elif type(item) in _KEY_KINDS:
            keys.append(_key(None, item, 0))
    added: list[Column] = []
    for index, statement in enumerate(statements[1:], start=1):
        tree = statement.tree
        if not isinstance(tree, exp.Alter):
            continue
        not_valid = bool(tree.args.get("not_valid"))
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):
                added.append(_column(action, False, statement=index))
            if not isinstance(action, exp.AddConstraint):
                continue
            for item in action.expressions:
                if isinstance(item, exp.Constraint) and type(_first(item)) in _KEY_KINDS:
                    keys.append(_key(item.name, _first(item), index, not_valid=not_valid))
                elif type(item) in _KEY_KINDS:
                    keys.append(_key(None, item, index, not_valid=not_valid))
    not_null_elsewhere = {
        column
        for key in keys
        if key.kind == KeyKind.PRIMARY and key.statement == 0
        for column in key.columns
    } | {  # and PostgreSQL 18's NOT NULL constraints of the table
        column
        for item in (schema.expressions if schema is not None else [])
        for column in _not_null_constraints(item)
    }
    alterations = _column_alterations(statements)
    inherits, partitioned_by = _inherits_and_partitioned_by(create)
    columns = (
        tuple(_column(_altered(c, alterations), c.name in not_null_elsewhere) for c in column_defs)
        if schema is not None and not inherits  # parents' columns too
        else None
    )
    return TableDefinition(columns, tuple(keys), _partitioning(partitioned_by), tuple(added))


def _inherits_and_partitioned_by(
    create: exp.Expr,
) -> tuple[bool, exp.PartitionedByProperty | None]:
    """Whether the tree holds an INHERITS, and its first PARTITION BY, as `find` gives
    each, in one walk of the tree rather than two (the tables' largest cost)."""
    inherits, partitioned_by = False, None
    for node in create.walk():
        if isinstance(node, exp.InheritsProperty):
            inherits = True
        elif partitioned_by is None and isinstance(node, exp.PartitionedByProperty):
            partitioned_by = node
        if inherits and partitioned_by is not None:
            break
    return inherits, partitioned_by


def _column_alterations(statements: list[Statement]) -> dict[str, list[exp.ColumnConstraint]]:
    """What the table's later statements give its columns: pg_dump declares defaults,
    identity and NOT NULL of some columns by ALTER TABLE after the CREATE."""
    found: dict[str, list[exp.ColumnConstraint]] = {}
    for statement in statements[1:]:
        tree = statement.tree
        if isinstance(tree, exp.Alter):
            for action in tree.args.get("actions") or []:
                for column in _not_null_constraints(action):
                    kind = exp.NotNullColumnConstraint()
                    found.setdefault(column, []).append(exp.ColumnConstraint(kind=kind))
                if not isinstance(action, exp.AlterColumn):
                    continue
                if action.args.get("default") is not None:
                    kind: exp.Expr = exp.DefaultColumnConstraint(this=action.args["default"].copy())
                elif action.args.get("allow_null") is False:
                    kind = exp.NotNullColumnConstraint()
                else:
                    continue
                found.setdefault(action.name, []).append(exp.ColumnConstraint(kind=kind))
        elif isinstance(tree, exp.Command):
            identity = identity_added(statement.tokens)
            if identity is not None:
                column, always = identity
                kind = exp.GeneratedAsIdentityColumnConstraint(this=always)
                found.setdefault(column, []).append(exp.ColumnConstraint(kind=kind))

    return found


def _altered(
    definition: exp.ColumnDef, alterations: dict[str, list[exp.ColumnConstraint]]
) -> exp.ColumnDef:
    """A column definition with what later ALTER statements give it."""
    extra = alterations.get(definition.name)
    if not extra:
        return definition
    altered = definition.copy()
    altered.set("constraints", [*(definition.args.get("constraints") or []), *extra])
    return altered


def _not_null_constraints(node: exp.Expr) -> list[str]:
    """The columns of `CONSTRAINT c NOT NULL column` in a CREATE TABLE's list or an
    ALTER TABLE ... ADD (PostgreSQL 18)."""
    items = node.expressions if isinstance(node, exp.AddConstraint) else [node]
    return [
        found.this.name
        for item in items
        if isinstance(item, exp.Constraint)
        for found in item.expressions
        if isinstance(found, NotNullConstraint)
    ]


def _first(constraint: exp.Constraint) -> exp.Expr | None:
    return constraint.expressions[0] if constraint.expressions else None


def _column(definition: exp.ColumnDef, in_primary_key: bool, statement: int = 0) -> Column:
    constraints = definition.args.get("constraints") or []
    kinds = {type(c.kind): c.kind for c in constraints}
    default = kinds.get(exp.DefaultColumnConstraint)
    identity = kinds.get(exp.GeneratedAsIdentityColumnConstraint)
    kept = [c for c in constraints if isinstance(c.kind, _SHAPING_CONSTRAINTS)]
    not_null = exp.NotNullColumnConstraint in kinds or in_primary_key
    if not_null and not any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in kept):
        kept.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
    generated = next(  # stored, or virtual (a subclass)
        (c.kind for c in constraints if isinstance(c.kind, exp.ComputedColumnConstraint)), None
    )
    data_type = definition.args.get("kind")
    typed = isinstance(data_type, exp.DataType)
    return Column(
        name=definition.name,
        data_type=data_type if typed else None,
        not_null=not_null,
        default=default.this if default is not None else None,
        identity=("a" if identity.this else "d") if identity is not None else "",
        generated=generated.this if generated is not None else None,
        definition=definition,
        shape=exp.ColumnDef(this=definition.this, kind=data_type, constraints=kept),
        line=line_of(definition.this),
        statement=statement,
        type_sql=type_sql(data_type) if typed else "",
    )


# A data type without parameters (bigint, text, timestamptz) is written after its kind
# alone: generated once a kind, not once a column (sqlglot takes ~70 us a type).
_PLAIN_TYPES: dict[exp.DType, str] = {}


def type_sql(data_type: exp.DataType) -> str:
    """`data_type.sql(DIALECT)`."""
    kind = data_type.this
    plain = (
        isinstance(kind, exp.DType)
        and kind != exp.DType.USERDEFINED
        and not data_type.comments
        and not any(value for key, value in data_type.args.items() if key != "this")
    )
    if not plain:
        return data_type.sql(DIALECT)
    if kind not in _PLAIN_TYPES:
        _PLAIN_TYPES[kind] = data_type.sql(DIALECT)
    return _PLAIN_TYPES[kind]


def _table_level(column: exp.Identifier, kind: exp.Expr) -> exp.Expr | None:
    """A column constraint as the equivalent table constraint."""
    if isinstance(kind, exp.CheckColumnConstraint):
        return kind.copy()
    # The column copied (quoted as written) only for a key: most constraints are not.
    if isinstance(kind, exp.PrimaryKeyColumnConstraint):
        return exp.PrimaryKey(expressions=[column.copy()])
    if isinstance(kind, exp.UniqueColumnConstraint):
        return exp.UniqueColumnConstraint(this=exp.Schema(expressions=[column.copy()]))
    if isinstance(kind, exp.Reference):
        return exp.ForeignKey(expressions=[column.copy()], reference=kind.copy())
    return None


def _key(
    name: str | None,
    node: exp.Expr,
    statement: int,
    line: int | None = None,
    column_level: bool = False,
    not_valid: bool = False,
) -> TableKey:
    kind = _KEY_KINDS[type(node)]
    referenced = None
    if isinstance(node, exp.CheckColumnConstraint):
        columns = [c.name for c in node.find_all(exp.Column)]
    elif isinstance(node, exp.ForeignKey):
        columns = [_name(c) for c in node.expressions]
        reference = node.args.get("reference")
        target = reference.find(exp.Table) if reference else None
        referenced = (target.db or None, target.name) if target else None
        line = line_of(reference) or line  # where the referenced table is named
    elif isinstance(node, exp.UniqueColumnConstraint):
        target_columns = node.this.expressions if isinstance(node.this, exp.Schema) else []
        columns = [_name(c) for c in target_columns]
    else:
        columns = [_name(c) for c in node.expressions]
    return TableKey(
        kind=kind,
        name=name,
        columns=tuple(dict.fromkeys(columns)),
        node=node,
        statement=statement,
        line=line if line is not None else line_of(node),
        referenced=referenced,
        column_level=column_level,
        not_valid=not_valid,
    )


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Ordered | WithoutOverlaps):
        node = node.this
    return node.name if isinstance(node, exp.Column | exp.Identifier) else node.sql()


def _partitioning(found: exp.PartitionedByProperty | None) -> Partitioning | None:
    if found is None:
        return None
    spec = found.this
    method = spec.name.lower() if isinstance(spec, exp.Anonymous) else type(spec).__name__.lower()
    columns = tuple(c.name for c in found.find_all(exp.Column))
    return Partitioning(method, columns)


def line_of(node: exp.Expr | None) -> int | None:
    """The source line of a node: that of its first identifier carrying one."""
    if node is None:
        return None
    # Lazily: the first identifier usually has its line, and a node may be a whole tree.
    for identifier in itertools.chain(
        [node] if isinstance(node, exp.Identifier) else [], node.find_all(exp.Identifier)
    ):
        line = identifier.meta.get("line") if identifier.meta else None
        if line:
            return int(line)
    return None
