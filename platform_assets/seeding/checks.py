"""Asset checks of a seed: the table holds the file's rows, keys are unique, references
resolve. They read the table against the file staged in a rolled-back transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from platform_assets.live.session import Session
from platform_assets.seeding.declaration import Seed
from platform_assets.seeding.load import Comparison, compare, in_place, live_columns, read_frame

SEED_ROWS = "seed_rows"
SEED_KEYS_UNIQUE = "seed_keys_unique"
SEED_REFERENCES = "seed_references"

SEED_CHECKS = {
    SEED_ROWS: "The table holds every row of the file with the file's values (and, when "
    "the seed owns the table, no other row).",
    SEED_KEYS_UNIQUE: "The seed's key is unique in the file and in the table.",
    SEED_REFERENCES: "Every foreign key of the table's rows resolves.",
}


@dataclass
class SeedCheck:
    name: str
    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


def evaluate_seed_checks(session: Session, seed: Seed, names: set[str]) -> list[SeedCheck]:
    """Read-only: the file is compared in one query, nothing is staged or written."""
    live = live_columns(session, seed)
    if not live:
        missing = f"table {seed.qualified_table} does not exist"
        return [SeedCheck(name, False, missing) for name in sorted(names)]
    frame = read_frame(seed)
    results: list[SeedCheck] = []
    if SEED_ROWS in names:
        try:
            with session.conn.transaction(force_rollback=True):
                comparison = compare(session, seed, frame, live)
        except psycopg.Error as error:  # the file no longer converts to the table's types
            reason = f"{seed.location.file} does not load: {str(error).strip()}"
            results.append(SeedCheck(SEED_ROWS, False, reason))
        else:
            results.append(_rows(seed, comparison))
    if SEED_KEYS_UNIQUE in names:
        in_file = int(frame.duplicated(subset=seed.key).sum())
        results.append(_keys_unique(session, seed, in_file))
    if SEED_REFERENCES in names:
        results.append(_references(session, seed))
    return results


def _table(seed: Seed) -> sql.Identifier:
    return sql.Identifier(seed.schema, seed.table)


def _rows(seed: Seed, comparison: Comparison) -> SeedCheck:
    passed = in_place(comparison, seed)
    description = (
        f"{comparison.matching} of {comparison.file_rows} rows of {seed.location.file} match; "
        f"{comparison.missing} missing, {comparison.differing} with other values; "
        f"{comparison.not_in_file} row(s) of the table are not in the file"
    )
    if seed.owns_table and comparison.not_in_file:
        description += " (the seed owns the table: they should not be there)"
    return SeedCheck(
        SEED_ROWS,
        passed,
        description,
        {
            "file_rows": comparison.file_rows,
            "matching_rows": comparison.matching,
            "missing_rows": comparison.missing,
            "differing_rows": comparison.differing,
            "rows_not_in_file": comparison.not_in_file,
            "dagster/row_count": comparison.table_rows,
        },
    )


def _keys_unique(session: Session, seed: Seed, in_file: int) -> SeedCheck:
    key = sql.SQL(", ").join(map(sql.Identifier, seed.key))
    in_table = session.value(
        sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} GROUP BY {} HAVING count(*) > 1) d").format(
            _table(seed), key
        )
    )
    passed = in_file == 0 and in_table == 0
    return SeedCheck(
        SEED_KEYS_UNIQUE,
        passed,
        f"key ({', '.join(seed.key)}): {in_file} duplicate(s) in the file, "
        f"{in_table} duplicated value(s) in the table",
        {"duplicates_in_file": in_file, "duplicates_in_table": int(in_table)},
    )


def _references(session: Session, seed: Seed) -> SeedCheck:
    """Rows whose foreign key (all columns set, MATCH SIMPLE) finds no referenced row:
    possible when a constraint is NOT VALID or was dropped and re-added by hand."""
    foreign_keys = session.rows(
        "SELECT con.conname, rn.nspname AS ref_schema, rc.relname AS ref_table, "
        "ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) "
        "      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n "
        "      ORDER BY k.i)::text[] AS columns, "
        "ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i) "
        "      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n "
        "      ORDER BY k.i)::text[] AS ref_columns "
        "FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid "
        "JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
        "WHERE con.contype = 'f' AND con.conrelid = %s::regclass ORDER BY con.conname",
        (_table(seed).as_string(session.conn),),
    )
    dangling: dict[str, int] = {}
    for fk in foreign_keys:
        pairs = list(zip(fk["columns"], fk["ref_columns"], strict=True))
        count = session.value(
            sql.SQL(
                "SELECT count(*) FROM {table} t WHERE {set} AND NOT EXISTS "
                "(SELECT 1 FROM {ref} r WHERE {match})"
            ).format(
                table=_table(seed),
                set=sql.SQL(" AND ").join(
                    sql.SQL("t.{} IS NOT NULL").format(sql.Identifier(c)) for c, _ in pairs
                ),
                ref=sql.Identifier(fk["ref_schema"], fk["ref_table"]),
                match=sql.SQL(" AND ").join(
                    sql.SQL("r.{} = t.{}").format(sql.Identifier(r), sql.Identifier(c))
                    for c, r in pairs
                ),
            )
        )
        if count:
            dangling[fk["conname"]] = int(count)
    passed = not dangling
    description = (
        f"all {len(foreign_keys)} foreign key(s) resolve"
        if passed
        else "rows with an unresolved reference: "
        + ", ".join(f"{name}: {n}" for name, n in dangling.items())
    )
    return SeedCheck(SEED_REFERENCES, passed, description, {"dangling": dangling})
