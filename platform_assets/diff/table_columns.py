"""Column ALTERs that bring a live table to its declared CREATE TABLE."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import sqlglot
from psycopg import sql
from sqlglot import exp
from sqlglot.errors import ParseError

from platform_assets.diff import hypertables
from platform_assets.diff.columns import ColumnComparison, compare_columns
from platform_assets.diff.guard import Change
from platform_assets.live.session import Session
from platform_assets.model.errors import SchemaError
from platform_assets.model.hazards import Hazard, LockLevel, alter_table, planned
from platform_assets.model.objects import SchemaObject
from platform_assets.parse.dialect import DIALECT

# -- columns ------------------------------------------------------------------------


def column_changes(table: SchemaObject, session: Session) -> list[Change]:
    """ALTERs that bring the live columns to the declared ones, in a safe order:
    drop, change type, add, drop identity, then defaults, NOT NULL, add identity."""
    comparison = compare_columns(table, session)
    if comparison is None or comparison.same:
        return []
    relation = sql.Identifier(table.schema, table.name)
    # A hypertable with columnstore: what TimescaleDB refuses there (hypertables.py).
    columnstore = hypertables.columnstore(table, session)
    if columnstore is not None:
        hypertables.refuse_columnstore_drops(table, session, columnstore, comparison.extra)
    drops, types, adds, defaults, nullability = [], [], [], [], []
    unidentify: list[Change] = []
    identify: list[Change] = []
    retyped: list[tuple[str, str, str]] = []
    for name in comparison.extra:
        total, values = _counts(session, relation, name)
        drops.append(
            Change(
                [
                    alter_table(
                        sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(
                            relation, sql.Identifier(name)
                        )
                    )
                ],
                f"dropping column {name} loses its {values} non-null value(s) "
                f"({total} row(s) in the table)",
            )
        )
    for name in comparison.missing:
        adds.append(_add_column(table, session, comparison, name))
    for name in comparison.changed:
        live, declared = comparison.comparable(name)
        column = sql.Identifier(name)
        if live.identity != declared.identity:
            change = _identity_change(session, relation, name, live.identity, declared.identity)
            # Dropped before a default takes its place; added once NOT NULL is set.
            (unidentify if not declared.identity else identify).append(change)
        if live.type != declared.type:
            types.append(_type_change(table, session, comparison, name))
            retyped.append((name, comparison.live[name].type, comparison.declared[name].type))
        if live.default != declared.default:
            default = _declared_default(comparison, name)
            defaults.append(
                Change(
                    [
                        alter_table(
                            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
                                relation, column, sql.SQL(default)
                            )
                            if default
                            else sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(
                                relation, column
                            )
                        )
                    ]
                )
            )
        if declared.not_null and not live.not_null:
            nulls = session.value(
                sql.SQL("SELECT count(*) FROM {} WHERE {} IS NULL").format(relation, column)
            )
            if nulls:
                raise SchemaError(
                    f"cannot make column {name} NOT NULL: {nulls} row(s) hold NULL in it; "
                    "fill them (UPDATE ... SET ... WHERE ... IS NULL) before materializing",
                    table.location,
                    table.describe(),
                )
            if columnstore is None and _plain_table_with_rows(session, table):
                nullability.append(_proven_not_null(session, table, name))
            else:
                nullability.append(
                    Change(
                        [
                            alter_table(
                                sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL").format(
                                    relation, column
                                ),
                                Hazard.FULL_SCAN,
                            )
                        ]
                    )
                )
        elif live.not_null and not declared.not_null:
            nullability.append(
                Change(
                    [
                        alter_table(
                            sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL").format(
                                relation, column
                            )
                        )
                    ]
                )
            )
    if types and columnstore is not None:
        types = hypertables.around_type_changes(table, session, columnstore, retyped, types)
    return drops + types + adds + unidentify + defaults + nullability + identify


# The CHECK that proves a column holds no NULL before SET NOT NULL (then dropped).
NOT_NULL_PROOF_SUFFIX = "_platform_not_null"


def not_null_proof(column: str) -> str:
    return f"{column[: 63 - len(NOT_NULL_PROOF_SUFFIX)]}{NOT_NULL_PROOF_SUFFIX}"


def _plain_table_with_rows(session: Session, table: SchemaObject) -> bool:
    relation = sql.Identifier(table.schema, table.name)
    return bool(
        session.value(
            sql.SQL(
                "SELECT c.relkind = 'r' AND EXISTS (SELECT FROM {}) FROM pg_class c "
                "WHERE c.oid = to_regclass(%s)"
            ).format(relation),
            (relation.as_string(session.conn),),
        )
    )


def _proven_not_null(session: Session, table: SchemaObject, column: str) -> Change:
    """SET NOT NULL without its full scan under ACCESS EXCLUSIVE (LOCKS.md): a
    `CHECK (c IS NOT NULL) NOT VALID` (a brief lock), validated after the commit (a
    scan under SHARE UPDATE EXCLUSIVE), then SET NOT NULL, which the validated check
    lets skip its scan, and the check dropped. An interrupted sequence is completed by
    the next run (a check already there is not added again)."""
    relation = sql.Identifier(table.schema, table.name)
    proof = sql.Identifier(not_null_proof(column))
    statements = []
    exists = session.value(
        "SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND conname = %s",
        (relation.as_string(session.conn), not_null_proof(column)),
    )
    if not exists:
        statements.append(
            alter_table(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL) NOT VALID").format(
                    relation, proof, sql.Identifier(column)
                )
            )
        )
    statements += [
        planned(
            sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(relation, proof),
            LockLevel.SHARE_UPDATE_EXCLUSIVE,
            Hazard.FULL_SCAN,
            outside_transaction=True,
        ),
        replace(
            alter_table(
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL").format(
                    relation, sql.Identifier(column)
                )
            ),
            outside_transaction=True,
        ),
        replace(
            alter_table(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(relation, proof)),
            outside_transaction=True,
        ),
    ]
    return Change(statements)


_GENERATED = {"a": "ALWAYS", "d": "BY DEFAULT"}


def _identity_change(
    session: Session, relation: sql.Identifier, name: str, live: str, declared: str
) -> Change:
    """Make a column an identity column (numbering after its largest value), change
    how it generates, or make it a plain column again (its values are kept)."""
    alter = sql.SQL("ALTER TABLE {} ALTER COLUMN {} ").format(relation, sql.Identifier(name))
    if not declared:
        return Change([alter_table(alter + sql.SQL("DROP IDENTITY"))])
    generated = sql.SQL(_GENERATED[declared])
    if live:
        return Change([alter_table(alter + sql.SQL("SET GENERATED {}").format(generated))])
    start = session.value(
        sql.SQL("SELECT coalesce(max({}), 0) + 1 FROM {}").format(sql.Identifier(name), relation)
    )
    return Change(
        [
            alter_table(
                alter
                + sql.SQL("ADD GENERATED {} AS IDENTITY (START WITH {})").format(
                    generated, sql.Literal(start)
                )
            )
        ]
    )


def _counts(session: Session, relation: sql.Identifier, column: str) -> tuple[int, int]:
    row = session.rows(
        sql.SQL("SELECT count(*) AS total, count({}) AS present FROM {}").format(
            sql.Identifier(column), relation
        )
    )[0]
    return row["total"], row["present"]


def _add_column(
    table: SchemaObject, session: Session, comparison: ColumnComparison, name: str
) -> Change:
    declared = comparison.declared[name]
    relation = sql.Identifier(table.schema, table.name)
    if declared.not_null and declared.default is None and not declared.identity:
        rows = session.value(sql.SQL("SELECT count(*) FROM {}").format(relation))
        if rows:
            raise SchemaError(
                f"cannot add column {name} NOT NULL without a default: the table has {rows} "
                "row(s); declare a DEFAULT, or add it nullable, fill it, then declare NOT NULL",
                table.location,
                table.describe(),
            )
    # The column as written, every inline constraint included (rendered from its tree).
    written = comparison.written[name]
    add = sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(relation, sql.SQL(written.sql(DIALECT)))
    if not _add_rewrites(session, relation, written):
        return Change([alter_table(add)])
    return Change(
        [alter_table(add, Hazard.TABLE_REWRITE)],
        online_way=f"declare {name} without its default (a catalog-only ADD COLUMN), let a "
        "later change add the default for new rows, fill the existing rows in batches "
        "(UPDATE ... WHERE id BETWEEN ...), then declare NOT NULL if it is (proven "
        "without a scan under ACCESS EXCLUSIVE)",
    )


# What an added column brings that can make the server fill every row.
_FILLING = (
    exp.DefaultColumnConstraint,
    exp.ComputedColumnConstraint,
    exp.GeneratedAsIdentityColumnConstraint,
)


def _add_rewrites(session: Session, relation: sql.Identifier, written: exp.ColumnDef) -> bool:
    """Whether ADD COLUMN rewrites the table: asked of the server, not guessed from the
    default's functions. The column (its type and what fills it: default, generated
    expression, identity) is added to an empty copy of the table in a savepoint that is
    rolled back; the copy gets a new relfilenode exactly when the server rewrites
    (a volatile default, a stored generated column, an identity, a serial)."""
    column = written.copy()
    kept = [c for c in column.args.get("constraints") or [] if isinstance(c.kind, _FILLING)]
    column.set("constraints", kept)
    probe = sql.Identifier("platform_rewrite_probe")
    with session.conn.transaction(force_rollback=True):
        session.conn.execute(sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {})").format(probe, relation))
        before = session.value("SELECT pg_relation_filenode(%s)", ("platform_rewrite_probe",))
        session.conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(probe, sql.SQL(column.sql(DIALECT)))
        )
        after = session.value("SELECT pg_relation_filenode(%s)", ("platform_rewrite_probe",))
    return before != after


def _declared_default(comparison: ColumnComparison, name: str) -> str | None:
    """The default as written when there is one (rendered from its tree), else as the
    server renders the declaration (a serial's sequence)."""
    written = comparison.written.get(name)
    for constraint in (written.args.get("constraints") or []) if written else []:
        if isinstance(constraint.kind, exp.DefaultColumnConstraint):
            return constraint.kind.this.sql(DIALECT)
    return comparison.declared[name].default


def _type_change(
    table: SchemaObject, session: Session, comparison: ColumnComparison, name: str
) -> Change:
    old, new = comparison.live[name].type, comparison.declared[name].type
    relation = sql.Identifier(table.schema, table.name)
    statement = alter_table(
        sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {}").format(
            relation, sql.Identifier(name), sql.SQL(new)
        ),
        *(() if is_binary_coercible(old, new) else (Hazard.TABLE_REWRITE,)),
    )
    online_way = (
        None
        if is_binary_coercible(old, new)
        else f"add a new column of type {new}, keep it equal to {name} with a trigger, fill "
        "the existing rows in batches, then swap the names in one brief transaction"
    )
    if is_widening(old, new):
        return Change([statement], online_way=online_way)
    return Change(
        [statement],
        f"changing column {name} from {old} to {new}: "
        + _type_loss(session, relation, name, old, new),
        online_way,
    )


def _type_loss(session: Session, relation: sql.Identifier, column: str, old: str, new: str) -> str:
    """How many values the conversion would change, or the server's reason it fails."""
    ident = sql.Identifier(column)
    query = sql.SQL(
        "SELECT count({c}) AS present, "
        "count(*) FILTER (WHERE CAST(CAST({c} AS {new}) AS {old}) IS DISTINCT FROM {c}) AS changed "
        "FROM {t}"
    ).format(c=ident, new=sql.SQL(new), old=sql.SQL(old), t=relation)
    try:
        with session.conn.transaction():  # a savepoint: a failing cast must not abort the object
            row = session.rows(query)[0]
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0]
        return f"the conversion fails on existing rows ({first_line})"
    return (
        f"{row['changed']} of {row['present']} non-null value(s) would be changed or "
        "fail to convert; the table is rewritten"
    )


_INTEGER_RANK = {exp.DType.SMALLINT: 1, exp.DType.INT: 2, exp.DType.BIGINT: 3}
_TEXT = {exp.DType.VARCHAR, exp.DType.TEXT}


def _data_type(text: str) -> exp.DataType | None:
    try:
        cast = sqlglot.parse_one(f"CAST(NULL AS {text})", read=DIALECT)
    except ParseError:
        return None
    return cast.to if isinstance(cast, exp.Cast) else None


def _params(data_type: exp.DataType) -> list[int]:
    return [int(p.name) for p in data_type.expressions if p.name.isdigit()]


# serial types are integers with a default: retyping between them rewrites nothing.
_SERIAL = {
    exp.DType.SMALLSERIAL: exp.DType.SMALLINT,
    exp.DType.SERIAL: exp.DType.INT,
    exp.DType.BIGSERIAL: exp.DType.BIGINT,
}


def retype_rewrites(live_text: str, declared_text: str) -> bool:
    """Whether declaring this type for a column of the live type rewrites the table: a
    different built-in type that is not binary-coercible. Spellings of one type (`int`,
    `integer`), a serial over its integer, and user-defined types (which only the
    server can compare) are no rewrite here."""
    live, declared = _data_type(live_text), _data_type(declared_text)
    if live is None or declared is None:
        return False
    if exp.DType.USERDEFINED in (live.this, declared.this):
        return False
    if _SERIAL.get(declared.this) == live.this or live == declared:
        return False
    return not is_binary_coercible(live_text, declared_text)


def is_binary_coercible(old_text: str, new_text: str) -> bool:
    """A type change the server makes without rewriting the table: text widened
    (varchar to a longer varchar or to text)."""
    old, new = _data_type(old_text), _data_type(new_text)
    if old is None or new is None or old.this not in _TEXT or new.this not in _TEXT:
        return False
    return is_widening(old_text, new_text)


def is_widening(old_text: str, new_text: str) -> bool:
    """A type change that keeps every value exactly and cannot fail."""
    old, new = _data_type(old_text), _data_type(new_text)
    if old is None or new is None:
        return False
    if old.this in _INTEGER_RANK and new.this in _INTEGER_RANK:
        return _INTEGER_RANK[new.this] >= _INTEGER_RANK[old.this]
    if old.this in _TEXT and new.this in _TEXT:
        old_length, new_length = _params(old), _params(new)
        if new.this == exp.DType.TEXT or not new_length:
            return True  # unbounded
        return bool(old_length) and old.this == exp.DType.VARCHAR and new_length >= old_length
    if old.this == exp.DType.DECIMAL and new.this == exp.DType.DECIMAL:
        old_params, new_params = _params(old), _params(new)
        if not new_params:
            return True
        if not old_params:
            return False
        old_scale = old_params[1] if len(old_params) > 1 else 0
        new_scale = new_params[1] if len(new_params) > 1 else 0
        # Neither the integer digits nor the scale may shrink.
        return new_scale >= old_scale and new_params[0] - new_scale >= old_params[0] - old_scale
    return old.this == exp.DType.FLOAT and new.this == exp.DType.DOUBLE
