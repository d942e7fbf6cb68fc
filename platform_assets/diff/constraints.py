"""Table constraints: declared vs live, and the ALTERs between them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError

from platform_assets.diff.guard import Change
from platform_assets.diff.rendering import (
    SHADOW_CONSTRAINT,
    normalized,
    server_expressions,
)
from platform_assets.diff.table_columns import NOT_NULL_PROOF_SUFFIX
from platform_assets.live import catalog
from platform_assets.live import timescale_catalog as tc
from platform_assets.live.session import Session
from platform_assets.live.snapshot import LiveConstraint
from platform_assets.model.declarations import KeyKind, TableDefinition
from platform_assets.model.hazards import (
    Hazard,
    LockLevel,
    PlannedStatement,
    alter_table,
    drop_index_concurrently,
    planned,
)
from platform_assets.model.naming import constraint_names
from platform_assets.model.objects import SchemaObject
from platform_assets.parse.dialect import DIALECT

# -- table constraints --------------------------------------------------------------

_CONTYPES = {KeyKind.CHECK: "c", KeyKind.FOREIGN: "f", KeyKind.PRIMARY: "p", KeyKind.UNIQUE: "u"}


@dataclass
class DeclaredConstraint:
    name: str | None
    contype: str
    node: exp.Expr  # the table-level definition (CHECK (...), FOREIGN KEY ..., ...)
    columns: tuple[str, ...]  # sorted, to match live constraints
    referenced: str | None
    # Declared by an ALTER TABLE amendment: added as written by apply_amendments.
    amendment: bool = False
    key_columns: tuple[str, ...] = ()  # as written, in order
    # Declared NOT VALID (pg_dump writes such constraints so): never validated here.
    not_valid: bool = False

    @property
    def signature(self) -> tuple[str, tuple[str, ...], str | None]:
        return (self.contype, self.columns, self.referenced)


def declared_constraints(table: SchemaObject) -> list[DeclaredConstraint]:
    """Every constraint of the declaration: in CREATE TABLE (table and column level)
    and in its ALTER TABLE ... ADD CONSTRAINT amendments. An unnamed one added by an
    amendment (`ADD CHECK (...)`) has the name the server gives it, like a named one."""
    keys = table.declared(TableDefinition).keys
    names = constraint_names(table.name, [(k.name, k.kind.value, k.columns) for k in keys])
    return [
        DeclaredConstraint(
            name if key.statement > 0 else key.name,
            _CONTYPES[key.kind],
            key.node,
            tuple(sorted(set(key.columns))),
            key.referenced[1] if key.referenced else None,
            amendment=key.statement > 0,
            key_columns=tuple(key.columns),
            not_valid=key.not_valid,
        )
        for key, name in zip(keys, names, strict=True)
        if key.kind in _CONTYPES
    ]


def _live_constraints(session: Session, table: SchemaObject) -> list[LiveConstraint]:
    """The table's own CHECK, FOREIGN KEY, PRIMARY KEY and UNIQUE constraints."""
    return [
        constraint
        for constraint in session.snapshot.constraints(table.schema, table.name)
        if constraint.contype in ("c", "f", "p", "u") and constraint.local
    ]


def constraint_changes(table: SchemaObject, session: Session) -> list[Change]:
    """Constraints added to, changed in or removed from the declaration (the table's
    columns already match it). Removing a constraint loses no data: not destructive."""
    relation = sql.Identifier(table.schema, table.name)
    partitioned = session.snapshot.relkind(table.schema, table.name) == "p"

    @cache
    def validate_later() -> bool:
        # TimescaleDB refuses VALIDATE CONSTRAINT on a hypertable with columnstore enabled
        # ("operation not supported"), yet adds a validated constraint there, compressed
        # chunks included: there a constraint is added in one statement. Read only when
        # a constraint is to be added.
        return tc.columnstore(session, table.schema, table.name) is None

    @cache
    def online_keys() -> bool:
        # UNIQUE / PRIMARY KEY through a concurrently built index: a plain table with rows
        # (the server refuses USING INDEX on partitioned tables, TimescaleDB on hypertables).
        if partitioned or not catalog.holds_rows(session, table.schema, table.name):
            return False
        return not tc.installed(session) or tc.hypertable(session, table.schema, table.name) is None

    def add(constraint: DeclaredConstraint) -> Change:
        if constraint.contype in ("u", "p") and _plain_key(constraint) and online_keys():
            return _add_key_online(session, relation, table, constraint)
        return _add_constraint(relation, constraint, partitioned, validate_later())

    def completed(constraint: DeclaredConstraint, row: LiveConstraint) -> None:
        # Added NOT VALID by a run interrupted before its VALIDATE: validated now, not re-added.
        if not row.validated and not constraint.not_valid and validate_later():
            adds.append(Change([_validate(relation, sql.Identifier(row.name))]))

    live = {row.name: row for row in _live_constraints(session, table)}
    declared = declared_constraints(table)
    matched: set[str] = set()
    drops: list[Change] = []
    adds: list[Change] = []
    unnamed = []
    for constraint in declared:
        if constraint.name is None:
            unnamed.append(constraint)
            continue
        row = live.get(constraint.name)
        if row is None:
            if not constraint.amendment:  # an amendment runs as written (apply_amendments)
                adds.append(add(constraint))
            continue
        matched.add(constraint.name)
        if not _same_constraint(session, table, constraint, row):
            replaced = _replace_validated_later(relation, constraint, partitioned, validate_later())
            if replaced is not None:
                adds.append(replaced)
            else:
                drops.append(_drop_constraint(relation, constraint.name))
                adds.append(add(constraint))
        else:
            completed(constraint, row)
    # Unnamed constraints carry the server's generated names: matched by what they
    # constrain (kind, columns, referenced table), never by name.
    for constraint in unnamed:
        row = next(
            (
                r
                for name, r in live.items()
                if name not in matched
                and (r.contype, r.columns, r.referenced) == constraint.signature
            ),
            None,
        )
        if row is None:
            adds.append(add(constraint))
        else:
            matched.add(row.name)
            completed(constraint, row)
    for name in live.keys() - matched:
        if name.endswith(NOT_NULL_PROOF_SUFFIX) and not live[name].validated:
            continue  # a NOT NULL being proven (table_columns); dropped once it is
        drops.append(_drop_constraint(relation, name))
    return drops + adds


# A changed CHECK / FOREIGN KEY is validated under this name beside the old one.
REPLACEMENT_SUFFIX = "_platform_new"


def _replace_validated_later(
    relation: sql.Identifier, constraint: DeclaredConstraint, partitioned: bool, later: bool
) -> Change | None:
    """A changed CHECK / FOREIGN KEY whose validation runs after the commit: the new one
    added NOT VALID under a temporary name beside the old one, validated, then the old
    one dropped and the new one renamed (each brief). The old constraint guards the rows
    until the new one is proven; a validation that fails leaves it in place, and the
    temporary one (not declared) is dropped by the next run. None: replaced in the
    transaction."""
    assert constraint.name is not None
    temporary = f"{constraint.name[: 63 - len(REPLACEMENT_SUFFIX)]}{REPLACEMENT_SUFFIX}"
    added = _add_constraint(
        relation, replace(constraint, name=temporary), partitioned, later
    ).statements
    if len(added) != 2 or not added[1].outside_transaction:
        return None
    name = sql.Identifier(constraint.name)
    return Change(
        [
            *added,
            replace(
                _drop_constraint(relation, constraint.name).statements[0], outside_transaction=True
            ),
            replace(
                alter_table(
                    sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                        relation, sql.Identifier(temporary), name
                    )
                ),
                outside_transaction=True,
            ),
        ]
    )


def _drop_constraint(relation: sql.Identifier, name: str) -> Change:
    return Change(
        [
            alter_table(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(relation, sql.Identifier(name))
            )
        ]
    )


def _plain_key(constraint: DeclaredConstraint) -> bool:
    """A named UNIQUE / PRIMARY KEY of columns only (no INCLUDE, NULLS NOT DISTINCT,
    DEFERRABLE): what ADD CONSTRAINT ... USING INDEX makes the same."""
    key = constraint.node
    if isinstance(key, exp.Constraint):  # CONSTRAINT name <key>
        key = key.expressions[0] if len(key.expressions) == 1 else None
    if constraint.name is None or not isinstance(key, exp.UniqueColumnConstraint | exp.PrimaryKey):
        return False
    options = {name for name, value in key.args.items() if value}
    include = key.args.get("include")
    return options <= {"this", "expressions", "include"} and not (
        include is not None and any(include.args.values())
    )


def _add_key_online(
    session: Session, relation: sql.Identifier, table: SchemaObject, constraint: DeclaredConstraint
) -> Change:
    """UNIQUE / PRIMARY KEY on a table in use (LOCKS.md): its unique index built
    CONCURRENTLY after the transaction, then attached as the constraint (a brief
    ACCESS EXCLUSIVE, no build under it). A leftover of an interrupted build (maybe
    INVALID) is dropped first."""
    assert constraint.name is not None
    name = sql.Identifier(constraint.name)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in constraint.key_columns)
    kind = sql.SQL("PRIMARY KEY" if constraint.contype == "p" else "UNIQUE")
    statements = []
    if session.snapshot.relkind(table.schema, constraint.name) is not None:
        statements.append(drop_index_concurrently(table.schema, constraint.name))
    statements += [
        planned(
            sql.SQL("CREATE UNIQUE INDEX CONCURRENTLY {} ON {} ({})").format(
                name, relation, columns
            ),
            LockLevel.SHARE_UPDATE_EXCLUSIVE,
            Hazard.INDEX_BUILD,
            outside_transaction=True,
        ),
        planned(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}").format(
                relation, name, kind, name
            ),
            LockLevel.ACCESS_EXCLUSIVE,
            outside_transaction=True,
        ),
    ]
    return Change(statements)


def _add_constraint(
    relation: sql.Identifier,
    constraint: DeclaredConstraint,
    partitioned: bool,
    validate_later: bool = True,
) -> Change:
    definition = sql.SQL(constraint.node.sql(DIALECT))
    # A foreign key locks writes on both tables; the others lock the table.
    lock = (
        LockLevel.SHARE_ROW_EXCLUSIVE if constraint.contype == "f" else LockLevel.ACCESS_EXCLUSIVE
    )
    # Unique and primary keys build their index; the others scan the table to validate.
    check = Hazard.INDEX_BUILD if constraint.contype in ("u", "p", "x") else Hazard.FULL_SCAN
    if constraint.name is None:
        return Change(
            [planned(sql.SQL("ALTER TABLE {} ADD {}").format(relation, definition), lock, check)]
        )
    name = sql.Identifier(constraint.name)
    add = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(relation, name, definition)
    # CHECK and FOREIGN KEY: added without scanning the table (a brief lock), then
    # validated once that lock is released, by a scan that blocks neither reads nor
    # writes. A partitioned table's foreign key cannot be NOT VALID on this PostgreSQL.
    if validate_later and (
        constraint.contype == "c" or (constraint.contype == "f" and not partitioned)
    ):
        return Change(
            [planned(sql.SQL("{} NOT VALID").format(add), lock), _validate(relation, name)]
        )
    return Change([planned(add, lock, check)])


def _validate(relation: sql.Identifier, name: sql.Identifier) -> PlannedStatement:
    """VALIDATE CONSTRAINT after the object's transaction commits: holding the ADD's lock
    through the scan would block writes (ACCESS EXCLUSIVE, or SHARE ROW EXCLUSIVE on both
    tables of a foreign key). Interrupted, it leaves the constraint NOT VALID
    (`pg_constraint.convalidated`), which the next run validates."""
    return planned(
        sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(relation, name),
        LockLevel.SHARE_UPDATE_EXCLUSIVE,
        Hazard.FULL_SCAN,
        outside_transaction=True,
    )


def _same_constraint(
    session: Session, table: SchemaObject, constraint: DeclaredConstraint, row: LiveConstraint
) -> bool:
    """Compare by sqlglot's normalized tree; a CHECK that differs there is compared
    as the server deparses both expressions (no DDL); a FOREIGN KEY by the server's
    rendering of the declaration, added NOT VALID (no scan) and rolled back."""
    live = row.definition
    live_tree = _constraint_tree(live)
    if live_tree is not None and live_tree == normalized(constraint.node):
        return True
    if constraint.contype != row.contype or constraint.contype not in ("c", "f"):
        return False
    relation = sql.Identifier(table.schema, table.name)
    if constraint.contype == "c":
        rendered = server_expressions(
            session, (table.schema, table.name), [row.expression, constraint.node.this.sql(DIALECT)]
        )
        return rendered is not None and rendered[0] == rendered[1]
    with session.conn.transaction(force_rollback=True):
        session.conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID").format(
                relation, sql.Identifier(SHADOW_CONSTRAINT), sql.SQL(constraint.node.sql(DIALECT))
            )
        )
        rendered = session.value(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND conname = %s",
            (relation.as_string(session.conn), SHADOW_CONSTRAINT),
        )
    return rendered.removesuffix(" NOT VALID") == live.removesuffix(" NOT VALID")


@cache  # pure (the tree is only compared), asked for every live constraint
def _constraint_tree(definition: str) -> exp.Expr | None:
    try:
        tree = sqlglot.parse_one(f"ALTER TABLE x ADD CONSTRAINT n {definition}", read=DIALECT)
    except ParseError:
        return None
    actions = tree.args.get("actions") or [] if isinstance(tree, exp.Alter) else []
    items = actions[0].expressions if actions else []
    if not items or not isinstance(items[0], exp.Constraint) or not items[0].expressions:
        return None
    return normalized(items[0].expressions[0])
