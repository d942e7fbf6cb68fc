"""What the server prints for an expression once it has read its own printing back.

PostgreSQL prints a stored expression (`pg_get_constraintdef`, `pg_get_indexdef`,
`pg_get_viewdef`) from its parse tree, and reading that text back does not always give the
same tree: `varchar_col IN ('a', 'b')`, written by hand, prints as
`((varchar_col)::text = ANY ((ARRAY['a'::character varying, ...])::text[]))`, which reads
back as an array of casts and prints differently once more; from then on it stands still.
An import writes that second printing, so materializing it and importing again gives the
same files. Each definition is read back on a temporary copy (a table `LIKE` the original,
a domain over the same type, a temporary view) in a transaction that is rolled back: the
live objects are only read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import psycopg
from psycopg import sql

from platform_assets.live.session import Session

# The settings pg_dump prints under, so definitions come out as in its output.
PG_DUMP_SETTINGS = (
    ("search_path", ""),
    ("DateStyle", "ISO"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "3"),
)
# Constraints whose definition holds expressions (CHECK, EXCLUDE).
EXPRESSION_CONSTRAINTS = ["c", "x"]


def reprinted_definitions(
    session: Session, schemas: list[str], without: Iterable[tuple[str, str]] = ()
) -> dict[str, str]:
    """pg_dump's text of each CHECK or EXCLUDE constraint (with `CONSTRAINT name`), index
    and view query of `schemas` -> the server's printing of it once read back, where the
    two differ; the relations `without` (schema, name) are left out."""
    left_out = set(without)
    names = (f"reprint_{n}" for n in itertools.count())
    found: dict[str, str | None] = {}

    def record(printed: str, again: str | None) -> None:
        # The same text printed back two ways (its columns' types differ): keep it.
        if printed != again:
            found[printed] = again if found.get(printed, again) == again else None

    with session.conn.transaction(force_rollback=True):
        for name, value in PG_DUMP_SETTINGS:
            session.conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        copies: dict[tuple[str, str], str | None] = {}
        for row in _table_definitions(session, schemas):
            if (row["schema"], row["name"]) in left_out:
                continue
            if (row["schema"], row["name"]) not in copies:
                copies[(row["schema"], row["name"])] = _copy_table(session, row, next(names))
            copy = copies[(row["schema"], row["name"])]
            if copy is None:
                continue  # no copy (a read-only server): written as first printed
            if row["index"] is None:
                again = _constraint_again(session, copy, row["constraint"], row["definition"])
                _record_constraint(record, row["constraint"], row["definition"], again)
            else:
                record(row["definition"], _index_again(session, copy, row, next(names)))
        for row in _domain_checks(session, schemas):
            again = _domain_again(session, row, next(names))
            _record_constraint(record, row["constraint"], row["definition"], again)
        for row in _views(session, schemas):
            if (row["schema"], row["name"]) not in left_out:
                printed = row["definition"].rstrip(";")
                record(printed, _view_again(session, printed, next(names)))
    return {printed: again for printed, again in found.items() if again is not None}


def _record_constraint(
    record: Callable[[str, str | None], None], name: str, printed: str, again: str | None
) -> None:
    """A constraint's definition with its name, as pg_dump prints it, so no other matches."""
    record(f"CONSTRAINT {name} {printed}", f"CONSTRAINT {name} {again}" if again else None)


def reprint(dump: str, definitions: dict[str, str]) -> str:
    """The dump with each definition as the server prints it back."""
    for printed, again in definitions.items():
        dump = dump.replace(printed, again)
    return dump


def _table_definitions(session: Session, schemas: list[str]) -> list[dict]:
    """Each table's CHECK and EXCLUDE constraints (index NULL) and its indexes that back
    no constraint, with names quoted as pg_dump prints them."""
    return session.rows(
        "SELECT n.nspname::text AS schema, c.relname::text AS name, c.oid::regclass::text "
        "  AS relation, quote_ident(k.conname) AS constraint, NULL AS index, NULL AS unique, "
        "  NULL AS am, "
        "  pg_get_constraintdef(k.oid) AS definition "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND k.contype = ANY(%s) AND k.conislocal "
        "UNION ALL "
        "SELECT n.nspname::text, c.relname::text, c.oid::regclass::text, NULL, "
        "  quote_ident(ic.relname), "
        "  i.indisunique, quote_ident(a.amname), pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am a ON a.oid = ic.relam "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'm') "
        "  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "ORDER BY 1, 2, 4, 5",
        (schemas, EXPRESSION_CONSTRAINTS, schemas),
    )


def _domain_checks(session: Session, schemas: list[str]) -> list[dict]:
    return session.rows(
        "SELECT quote_ident(k.conname) AS constraint, pg_get_constraintdef(k.oid) AS definition, "
        "  format_type(t.typbasetype, t.typtypmod) AS base "
        "FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid "
        "JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = ANY(%s) AND k.contype = 'c' ORDER BY n.nspname, t.typname, 1",
        (schemas,),
    )


def _views(session: Session, schemas: list[str]) -> list[dict]:
    """Views and materialized views a user made (not an extension's)."""
    return session.rows(
        "SELECT n.nspname::text AS schema, c.relname::text AS name, "
        "  pg_get_viewdef(c.oid) AS definition "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND c.relkind IN ('v', 'm') "
        "  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "    AND d.objid = c.oid AND d.deptype = 'e') "
        "ORDER BY 1, 2",
        (schemas,),
    )


def _copy_table(session: Session, row: dict, name: str) -> str | None:
    """A temporary table with the columns of `row`'s table; its name, qualified (None when
    the server refuses to make one)."""
    copy = sql.Identifier("pg_temp", name)
    made = _probe(
        session,
        sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {})").format(
            copy, sql.Identifier(row["schema"], row["name"])
        ),
        sql.SQL("SELECT true"),
    )
    return copy.as_string(session.conn) if made else None


def _probe(session: Session, statement: sql.Composable, printed: sql.Composable) -> str | None:
    """`printed` after `statement`, in a savepoint; None when the server refuses it (the
    definition is then written as it was first printed)."""
    try:
        with session.conn.transaction():
            session.conn.execute(statement)
            return session.value(printed)
    except psycopg.Error:
        return None


def _constraint_again(session: Session, copy: str, name: str, definition: str) -> str | None:
    return _probe(
        session,
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            sql.SQL(copy), sql.SQL(name), sql.SQL(definition)
        ),
        sql.SQL(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = {}::regclass AND quote_ident(conname) = {}"
        ).format(sql.Literal(copy), sql.Literal(name)),
    )


def _index_again(session: Session, copy: str, row: dict, name: str) -> str | None:
    """The index built on the table's copy: the text after `USING <method>` is the
    definition's own, the text before it names the index and its table."""
    unique = "UNIQUE " if row["unique"] else ""
    using = f" USING {row['am']} "
    heads = [
        f"CREATE {unique}INDEX {row['index']} ON {only}{row['relation']}{using}"
        for only in ("", "ONLY ")
    ]
    head = next((h for h in heads if row["definition"].startswith(h)), None)
    if head is None:
        return None
    copy_head = f"CREATE {unique}INDEX {name} ON "
    again = _probe(
        session,
        sql.SQL(copy_head + copy + using + row["definition"][len(head) :]),
        sql.SQL("SELECT pg_get_indexdef({}::regclass)").format(
            sql.Literal(sql.Identifier("pg_temp", name).as_string(session.conn))
        ),
    )
    # The copy's name, which the server may print qualified, holds no ` USING `.
    if again is None or not again.startswith(copy_head) or using not in again:
        return None
    return head + again[again.index(using) + len(using) :]


def _domain_again(session: Session, row: dict, name: str) -> str | None:
    domain = sql.Identifier("pg_temp", name)
    return _probe(
        session,
        sql.SQL("CREATE DOMAIN {} AS {} CONSTRAINT {} {}").format(
            domain, sql.SQL(row["base"]), sql.SQL(row["constraint"]), sql.SQL(row["definition"])
        ),
        sql.SQL(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = {}::regtype"
        ).format(sql.Literal(domain.as_string(session.conn))),
    )


def _view_again(session: Session, query: str, name: str) -> str | None:
    view = sql.Identifier("pg_temp", name)
    again = _probe(
        session,
        sql.SQL("CREATE TEMPORARY VIEW {} AS {}").format(view, sql.SQL(query)),
        sql.SQL("SELECT pg_get_viewdef({}::regclass)").format(
            sql.Literal(view.as_string(session.conn))
        ),
    )
    return again.rstrip(";") if again is not None else None
