"""Loading one seed in one transaction.

- A table that already holds rows: pandas reads the file and one query compares it
  with the table (no DDL); when every row is in place nothing more runs. Before that,
  a table whose content digest is the one its last load of the same file left is in
  place without reading the file (the run passes that load's digest: `LastLoad`).
- Otherwise the file is staged in a temporary table of the target's column types
  (COPY of the file as it is, or batched multi-row INSERTs of the rows pandas read
  where the server has no COPY), then upserted in one statement. An empty table
  with nothing to add to the rows (no secret column, no partitions to make) takes
  the file by COPY directly: the initial load costs what `psql \\copy` does.

A bad row fails the load with its file, line and column, found by re-trying the rows
pandas read in rolled-back savepoints; the transaction leaves the table as it was.
"""

from __future__ import annotations

import csv
import functools
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import bcrypt
import psycopg
from psycopg import sql

from platform_assets import settings
from platform_assets.execute import partitions
from platform_assets.execute.partition_rules import partition_settings
from platform_assets.live.session import Session
from platform_assets.live.snapshot import LiveColumn
from platform_assets.model.graph import SchemaGraph
from platform_assets.seeding.declaration import Seed

if TYPE_CHECKING:
    import pandas as pd

STAGE = "platform_seed_stage"
RECORD = "platform_record"  # the row's position in the file, 0 for the first data row
# Rows upserted per try while looking for a bad row.
LOCATE_CHUNK = 10_000
# Bind parameters per multi-row INSERT (the protocol allows 65,535).
PARAMETERS_PER_INSERT = 30_000


@dataclass
class SeedResult:
    file_rows: int
    inserted: int = 0
    updated: int = 0
    not_in_file: int = 0
    deleted: int = 0
    method: str = "copy"
    partitions_created: list[str] = field(default_factory=list)
    table_digest: str | None = None  # of the table as the load left it (`table_digest`)

    @property
    def unchanged(self) -> int:
        return self.file_rows - self.inserted - self.updated

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted or self.partitions_created)


@dataclass(frozen=True)
class LastLoad:
    """What the last recorded load of the same file left: the file's rows, and the
    table's digest then."""

    file_rows: int
    table_digest: str


def table_digest(session: Session, seed: Seed) -> str:
    """A digest of the table's rows (their compared columns as the server prints them):
    the count and the sum of each row's 64-bit hash, so it is read in one pass, with no
    sort, whatever the table's size. Equal to a recorded one, the table holds what it
    held then (a change going unseen would take two rows' hashes colliding)."""
    compared = [c for c in seed.header if c not in seed.insert_only and c not in seed.secrets]
    query = sql.SQL(
        "SELECT count(*) || ':' || coalesce(sum(hashtextextended(ROW({})::text, 0)), 0) FROM {}"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, compared)),
        sql.Identifier(seed.schema, seed.table),
    )
    return session.value(query)


def read_frame(seed: Seed, secret_values: dict[str, str] | None = None) -> pd.DataFrame:
    """The file as strings (an empty field is NULL), with the secret columns added."""
    import pandas as pd  # here, not at import: it would cost every definitions load ~0.5 s

    frame = pd.read_csv(
        io.BytesIO(seed.content()), dtype=str, keep_default_na=False, na_filter=False
    )
    frame = frame.astype(object).where(frame != "", None)
    for column, value in (secret_values or {}).items():
        frame[column] = value
    return frame


def record_line(seed: Seed, record: int) -> int:
    """The file line on which data row `record` starts (quoted fields may span lines)."""
    if seed.inline_csv is not None:
        return seed.inline_lines[record] if record < len(seed.inline_lines) else 1
    with seed.path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        line_after = reader.line_num
        for index, _row in enumerate(reader):
            if index == record:
                return line_after + 1
            line_after = reader.line_num
    return line_after + 1


def live_columns(session: Session, seed: Seed) -> dict[str, LiveColumn]:
    return {c.name: c for c in session.snapshot.columns(seed.schema, seed.table)}


def check_header(seed: Seed, live: dict[str, LiveColumn]) -> None:
    """Every column of the file exists; every column that needs a value has one."""
    for column in seed.columns:
        if column not in live:
            raise seed.error(f"table {seed.qualified_table} has no such column", 1, column)
    for column in live.values():
        if column.required and column.name not in seed.columns:
            raise seed.error(
                f"required by {seed.qualified_table} (NOT NULL, no default) but missing "
                "from the header",
                1,
                column.name,
            )


def check_rows(seed: Seed, frame: pd.DataFrame, live: dict[str, LiveColumn]) -> None:
    """Missing values and duplicate keys, told by line before the server is asked."""
    for name in frame.columns:
        if live[name].required or name in seed.key:
            missing = frame[name].isna()
            if missing.any():
                record = int(missing.to_numpy().nonzero()[0][0])
                raise seed.error(
                    "empty, but the column is NOT NULL", record_line(seed, record), name
                )
    duplicated = frame.duplicated(subset=seed.key, keep=False)
    if duplicated.any():
        records = duplicated.to_numpy().nonzero()[0]
        first = frame.iloc[records[0]][seed.key].tolist()
        again = next(int(r) for r in records[1:] if frame.iloc[r][seed.key].tolist() == first)
        raise seed.error(
            f"duplicate key ({', '.join(seed.key)})=({', '.join(map(str, first))}), "
            f"first on line {record_line(seed, int(records[0]))}",
            record_line(seed, again),
            seed.key[0],
        )


@dataclass
class Comparison:
    """The file against the table, row by row on the key."""

    file_rows: int
    matching: int  # same key, same values
    missing: int  # key not in the table
    table_rows: int

    @property
    def differing(self) -> int:
        return self.file_rows - self.matching - self.missing

    @property
    def not_in_file(self) -> int:
        return self.table_rows - (self.file_rows - self.missing)


def compare(
    session: Session, seed: Seed, frame: pd.DataFrame, live: dict[str, LiveColumn]
) -> Comparison:
    """Compare in one query, the file passed as one text array per column and converted
    by the server: no staging table, so a seed already in place is verified without DDL.
    Insert-only and secret columns are not compared."""
    header = [c for c in frame.columns if c in seed.header]
    compared = [c for c in header if c not in seed.insert_only]
    names = [sql.Identifier(c) for c in header]
    converted = sql.SQL(", ").join(
        sql.SQL("CAST({0} AS {1}) AS {0}").format(name, sql.SQL(live[c].type))
        for name, c in zip(names, header, strict=True)
    )

    def row(alias: str) -> sql.Composable:
        return sql.SQL("ROW({})").format(
            sql.SQL(", ").join(sql.SQL(alias + ".{}").format(sql.Identifier(c)) for c in compared)
        )

    query = sql.SQL(
        "WITH s AS (SELECT {converted} FROM unnest({arrays}) AS f({names})) "
        "SELECT count(t.ctid) FILTER (WHERE {s} IS NOT DISTINCT FROM {t}) AS matching, "
        "count(*) FILTER (WHERE t.ctid IS NULL) AS missing, "
        "(SELECT count(*) FROM {table}) AS table_rows "
        "FROM s LEFT JOIN {table} t ON {key}"
    ).format(
        converted=converted,
        arrays=sql.SQL(", ").join([sql.SQL("%s::text[]")] * len(header)),
        names=sql.SQL(", ").join(names),
        s=row("s"),
        t=row("t"),
        table=sql.Identifier(seed.schema, seed.table),
        key=sql.SQL(" AND ").join(
            sql.SQL(
                "s.{0} = t.{0}" if seed.key_constrained else "s.{0} IS NOT DISTINCT FROM t.{0}"
            ).format(sql.Identifier(c))
            for c in seed.key
        ),
    )
    counts = session.rows(query, [frame[c].tolist() for c in header])[0]
    return Comparison(len(frame), counts["matching"], counts["missing"], counts["table_rows"])


def in_place(comparison: Comparison, seed: Seed) -> bool:
    """Every row of the file is in the table as written (and, for an owning seed, no other)."""
    every_row = comparison.matching == comparison.file_rows
    return every_row and (not seed.owns_table or comparison.not_in_file == 0)


def table_has_rows(session: Session, seed: Seed) -> bool:
    table = sql.Identifier(seed.schema, seed.table)
    return bool(session.value(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table)))


def copy_file(session: Session, seed: Seed, into: sql.Composable) -> int:
    """COPY the file as it is into `into` (its header's columns); the server parses the
    CSV as pandas does (an empty field, quoted or not, is NULL). Returns the rows."""
    columns = sql.SQL(", ").join(map(sql.Identifier, seed.header))
    statement = sql.SQL(
        "COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true, FORCE_NULL ({}))"
    ).format(into, columns, columns)
    with session.conn.cursor() as cursor:
        with cursor.copy(statement) as copy, io.BytesIO(seed.content()) as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        return cursor.rowcount


def stage(session: Session, seed: Seed, frame: Callable[[], pd.DataFrame]) -> str:
    """Create the staging table (the file's columns, the target's types, and the record
    number) and fill it; returns how ("copy" or "insert")."""
    session.conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
        ).format(
            stage=sql.Identifier(STAGE),
            columns=sql.SQL(", ").join(map(sql.Identifier, seed.header)),
            table=sql.Identifier(seed.schema, seed.table),
        )
    )
    session.conn.execute(
        sql.SQL(
            "ALTER TABLE {} ADD COLUMN {} bigint "
            "GENERATED ALWAYS AS IDENTITY (START WITH 0 MINVALUE 0)"
        ).format(sql.Identifier(STAGE), sql.Identifier(RECORD))
    )
    try:
        with session.conn.transaction():
            copy_file(session, seed, sql.Identifier(STAGE))
        return "copy"
    except psycopg.errors.FeatureNotSupported:  # a server without COPY FROM STDIN
        pass
    rows = frame()[seed.header]
    per_batch = _per_batch(rows)
    for start in range(0, len(rows), per_batch):
        batch = rows.iloc[start : start + per_batch]
        session.conn.execute(
            sql.SQL("INSERT INTO {} ({}) {}").format(
                sql.Identifier(STAGE),
                sql.SQL(", ").join(map(sql.Identifier, seed.header)),
                _values(len(seed.header), len(batch)),
            ),
            [value for values in batch.itertuples(index=False) for value in values],
        )
    return "insert"


def _raise_located(
    session: Session,
    seed: Seed,
    live: dict[str, LiveColumn],
    error: psycopg.Error,
    secret_values: dict[str, str],
) -> None:
    """Find the first row that fails when the rows are upserted in file order, and
    fail naming its line and column (the server's message, its detail)."""
    frame = read_frame(seed, secret_values)
    check_rows(seed, frame, live)

    def attempt(start: int, end: int) -> None:
        per_batch = _per_batch(frame)
        for first in range(start, end, per_batch):
            part = frame.iloc[first : min(end, first + per_batch)]
            session.conn.execute(
                _upsert_sql(seed, list(frame.columns), _values(len(frame.columns), len(part))),
                [value for values in part.itertuples(index=False) for value in values],
            )

    record = first_failing(session, len(frame), attempt)
    if record is None:
        raise seed.error(_server_message(error)) from error
    located = _error_of(session, attempt, record) or error
    column = (
        located.diag.column_name
        or _constraint_column(session, seed, located)
        or _bad_value_column(session, frame, live, record)
    )
    raise seed.error(_server_message(located), record_line(seed, record), column) from error


def _per_batch(frame: pd.DataFrame) -> int:
    return max(1, PARAMETERS_PER_INSERT // max(1, len(frame.columns)))


def _values(width: int, rows: int = 1) -> sql.Composable:
    row = sql.SQL("({})").format(sql.SQL(", ").join([sql.Placeholder()] * width))
    return sql.SQL("VALUES {}").format(sql.SQL(", ").join([row] * rows))


def _error_of(
    session: Session, attempt: Callable[[int, int], None], record: int
) -> psycopg.Error | None:
    """The server's error for the failing row, with the rows before it in place."""
    try:
        with session.conn.transaction(force_rollback=True):
            attempt(0, record + 1)
    except psycopg.Error as error:
        return error
    return None


def first_failing(session: Session, count: int, attempt: Callable[[int, int], None]) -> int | None:
    """The first record whose inclusion makes `attempt(0, n)` fail, found chunk by chunk,
    then by halving inside the failing chunk; nothing it tries is kept."""

    def fails(start: int, end: int) -> bool:
        try:
            with session.conn.transaction(force_rollback=True):
                attempt(start, end)
        except psycopg.Error:
            return True
        return False

    with session.conn.transaction(force_rollback=True):
        for start in range(0, count, LOCATE_CHUNK):
            end = min(start + LOCATE_CHUNK, count)
            if not fails(start, end):
                with session.conn.transaction():
                    attempt(start, end)  # keep the good chunk, so later ones see its rows
                continue
            low, high = start + 1, end  # the shortest failing prefix ends in [low, high]
            while low < high:
                middle = (low + high) // 2
                if fails(start, middle):
                    high = middle
                else:
                    low = middle + 1
            return low - 1
    return None


def _constraint_column(session: Session, seed: Seed, error: psycopg.Error) -> str | None:
    """The (first) column of the constraint a row violated. On a hypertable the server
    names the chunk's copy of it, `<chunk>_<n>_<constraint>`, in a chunk the rolled-back
    insert made: it is matched to the table's constraint by that suffix."""
    name = error.diag.constraint_name
    if not name:
        return None
    return session.value(
        "SELECT a.attname FROM pg_constraint con JOIN pg_attribute a "
        "ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] "
        "WHERE con.conrelid = %(table)s::regclass AND (con.conname = %(name)s "
        "OR right(%(name)s, length(con.conname) + 1) = '_' || con.conname) "
        "ORDER BY length(con.conname) DESC LIMIT 1",
        {"table": sql.Identifier(seed.schema, seed.table).as_string(session.conn), "name": name},
    )


def _bad_value_column(
    session: Session, frame: pd.DataFrame, live: dict[str, LiveColumn], record: int
) -> str | None:
    """The first value of a row that its column's type does not accept."""
    types = {c.name: c.type for c in live.values()}
    for name, value in frame.iloc[record].items():
        if value is None:
            continue
        try:
            with session.conn.transaction(force_rollback=True):
                session.conn.execute(
                    sql.SQL("SELECT CAST(%s::text AS {})").format(sql.SQL(types[name])), (value,)
                )
        except psycopg.Error:
            return str(name)
    return None


def _server_message(error: psycopg.Error) -> str:
    detail = error.diag.message_detail
    primary = error.diag.message_primary or str(error).strip()
    return f"{primary} ({detail})" if detail else primary


def cover_partitions(session: Session, seed: Seed, graph: SchemaGraph) -> list[str]:
    """A seed of a natively partitioned table brings the partitions its rows need."""
    table = graph.relation(seed.schema, seed.table)
    if table is None:
        return []
    settings = partition_settings(table, graph)
    key = partitions.partition_key(session, seed.schema, seed.table)
    if "partition_interval" not in settings or key is None or key[0] not in seed.header:
        return []
    instants = [
        row["instant"]
        for row in session.rows(
            sql.SQL("SELECT DISTINCT {} AS instant FROM {} WHERE {} IS NOT NULL").format(
                sql.Identifier(key[0]), sql.Identifier(STAGE), sql.Identifier(key[0])
            )
        )
    ]
    return partitions.cover(session, table, settings["partition_interval"], instants)


def upsert(session: Session, seed: Seed, secret_values: dict[str, str], result: SeedResult) -> None:
    """One INSERT ... ON CONFLICT from the staging table, in file order; counts what it
    inserted and updated (new keys first: a partitioned table cannot return xmax)."""
    result.inserted = int(
        session.value(
            sql.SQL("SELECT count(*) FROM {} s WHERE NOT {}").format(
                sql.Identifier(STAGE), _in_table(seed)
            )
        )
    )
    secrets = list(secret_values)
    source = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(
            [*map(sql.Identifier, seed.header), *[sql.Placeholder()] * len(secrets)]
        ),
        sql.Identifier(STAGE),
        sql.Identifier(RECORD),
    )
    statement = _upsert_sql(seed, [*seed.header, *secrets], source)
    written = session.value(statement, [secret_values[c] for c in secrets])
    result.updated = int(written) - result.inserted


def _in_table(seed: Seed) -> sql.Composable:
    """Whether the staged row `s` has its key in the table."""
    # A key no constraint backs (every column of a keyless table) may hold NULLs.
    equal = "t.{0} = s.{0}" if seed.key_constrained else "t.{0} IS NOT DISTINCT FROM s.{0}"
    match = sql.SQL(" AND ").join(sql.SQL(equal).format(sql.Identifier(c)) for c in seed.key)
    return sql.SQL("EXISTS (SELECT 1 FROM {} t WHERE {})").format(
        sql.Identifier(seed.schema, seed.table), match
    )


def _upsert_sql(seed: Seed, columns: list[str], source: sql.Composable) -> sql.Composed:
    """INSERT the rows of `source` (in `columns`' order) or, on the key, update those
    that differ; key, insert-only and secret columns are never updated. Returns the
    number of rows written."""
    if not seed.key_constrained:  # no unique key to conflict on: insert the new rows
        return sql.SQL(
            "WITH written AS (INSERT INTO {table} ({names}) SELECT * FROM ({source}) s "
            "WHERE NOT {present} RETURNING 1) SELECT count(*) FROM written"
        ).format(
            table=sql.Identifier(seed.schema, seed.table),
            names=sql.SQL(", ").join(map(sql.Identifier, columns)),
            source=source,
            present=_in_table(seed),
        )
    keep = set(seed.key) | set(seed.insert_only) | set(seed.secrets)
    updated = [c for c in columns if c not in keep]
    if updated:
        assignments = sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in updated
        )
        live = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in updated)
        incoming = sql.SQL(", ").join(
            sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in updated
        )
        # ROW(...) also for one column, so IS DISTINCT FROM compares rows.
        conflict = sql.SQL("DO UPDATE SET {} WHERE ROW({}) IS DISTINCT FROM ROW({})").format(
            assignments, live, incoming
        )
    else:
        conflict = sql.SQL("DO NOTHING")
    return sql.SQL(
        "WITH written AS (INSERT INTO {table} AS t ({names}) {source} "
        "ON CONFLICT ({key}) {conflict} RETURNING 1) SELECT count(*) FROM written"
    ).format(
        table=sql.Identifier(seed.schema, seed.table),
        names=sql.SQL(", ").join(map(sql.Identifier, columns)),
        source=source,
        key=sql.SQL(", ").join(map(sql.Identifier, seed.key)),
        conflict=conflict,
    )


def rows_not_in_file(session: Session, seed: Seed, delete: bool) -> int:
    """Rows of the table whose key the file does not have; deleted when `delete`."""
    match = sql.SQL(" AND ").join(
        sql.SQL("s.{0} = t.{0}").format(sql.Identifier(c)) for c in seed.key
    )
    absent = sql.SQL("NOT EXISTS (SELECT 1 FROM {} s WHERE {})").format(
        sql.Identifier(STAGE), match
    )
    table = sql.Identifier(seed.schema, seed.table)
    count = session.value(sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(table, absent))
    if delete and count:
        session.execute(sql.SQL("DELETE FROM {} t WHERE {}").format(table, absent))
    return int(count)


def advance_sequences(session: Session, seed: Seed, columns: list[str]) -> None:
    """Identity and serial columns given explicit values: their sequences move past them,
    so the application's next insert does not collide with a seeded row."""
    for column in columns:
        sequence = session.value(
            "SELECT pg_get_serial_sequence(%s, %s)",
            (sql.Identifier(seed.schema, seed.table).as_string(session.conn), column),
        )
        if sequence:
            session.execute(
                sql.SQL(
                    "SELECT setval(%s::regclass, GREATEST((SELECT max({}) FROM {}), 1))"
                ).format(sql.Identifier(column), sql.Identifier(seed.schema, seed.table)),
                (sequence,),
            )


def load_seed(
    session: Session,
    seed: Seed,
    graph: SchemaGraph,
    secret_values: Callable[[], dict[str, str]] = dict,
    last_load: LastLoad | None = None,
) -> SeedResult:
    """Upsert one seed in one transaction; any bad row fails it with nothing changed.
    `secret_values` (each secret column's hash) is asked only when rows are written;
    `last_load` is what the last recorded load of this same file left."""
    rows = functools.cache(lambda: read_frame(seed))  # read only where rows are needed
    # Under its table's search_path: the types read for it are rendered, and cast to,
    # as that table's own statements name them.
    table = graph.relation(seed.schema, seed.table)
    search_path = table.definition.search_path if table is not None else ()
    with session.changing([(seed.schema, seed.table)]), session.transaction(search_path):
        live = live_columns(session, seed)
        if not live:
            raise seed.error(f"table {seed.qualified_table} does not exist")
        check_header(seed, live)
        populated = table_has_rows(session, seed)
        if populated:
            digest = table_digest(session, seed)
            if last_load is not None and digest == last_load.table_digest:
                method = "none (already in place: the table is as the last load left it)"
                return SeedResult(last_load.file_rows, method=method, table_digest=digest)
            try:
                with session.conn.transaction():
                    comparison = compare(session, seed, rows(), live)
            except psycopg.Error:  # a value the server refuses: the load below locates it
                comparison = None
            if comparison is not None and in_place(comparison, seed):
                result = SeedResult(comparison.file_rows, method="none (already in place)")
                result.not_in_file = comparison.not_in_file
                result.table_digest = digest
                return result
        direct = not populated and not seed.secrets and not _partitioned(session, seed)
        hashes = secret_values()
        try:
            with session.conn.transaction():
                result = _load(session, seed, graph, hashes, rows, direct)
        except psycopg.Error as error:
            _raise_located(session, seed, live, error, hashes)
        if result.inserted:
            advance_sequences(session, seed, seed.header)
        result.table_digest = table_digest(session, seed)
    return result


def _load(
    session: Session,
    seed: Seed,
    graph: SchemaGraph,
    secret_values: dict[str, str],
    rows: Callable[[], pd.DataFrame],
    direct: bool,
) -> SeedResult:
    if direct:
        try:
            with session.conn.transaction():
                copied = copy_file(session, seed, sql.Identifier(seed.schema, seed.table))
            return SeedResult(copied, inserted=copied, method="copy (initial load)")
        except psycopg.errors.FeatureNotSupported:  # no COPY here: staged INSERTs below
            pass
    method = stage(session, seed, rows)
    result = SeedResult(
        session.value(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(STAGE))),
        method=method,
    )
    result.partitions_created = cover_partitions(session, seed, graph)
    upsert(session, seed, secret_values, result)
    result.not_in_file = rows_not_in_file(session, seed, delete=seed.owns_table)
    result.deleted = result.not_in_file if seed.owns_table else 0
    return result


def _partitioned(session: Session, seed: Seed) -> bool:
    """A partitioned table: its seed rows may need partitions made first."""
    return partitions.partition_key(session, seed.schema, seed.table) is not None


def secret_values(seed: Seed, generate: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Each secret column's bcrypt hash of its environment variable. Unset, the load
    fails naming the variable, unless `generate` (the embedded demo database): then a
    random password is made, returned so the caller can show it once."""
    values: dict[str, str] = {}
    generated: dict[str, str] = {}
    for column, variable in seed.secrets.items():
        password = settings.secret(variable)
        if not password:
            if not generate:
                raise seed.error(
                    f"the environment variable {variable} is not set; it holds the password "
                    f"whose bcrypt hash is stored in {column}"
                )
            password = generated[variable] = secrets.token_urlsafe(18)
        values[column] = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    return values, generated
