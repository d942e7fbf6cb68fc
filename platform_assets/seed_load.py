"""Loading one seed in one transaction: the file is staged in a temporary table of the
target's column types (COPY, or batched multi-row INSERTs where the server has no
COPY), then upserted in one statement. A bad row fails the load with its file, line
and column, and the transaction leaves the table as it was."""

from __future__ import annotations

import csv
import io
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import bcrypt
import pandas as pd
import psycopg
from psycopg import sql

from platform_assets import partitions
from platform_assets.compiler import SchemaGraph
from platform_assets.health import partition_settings
from platform_assets.seeds import Seed
from platform_assets.session import Session

STAGE = "platform_seed_stage"
RECORD = "platform_record"  # the row's position in the file, 0 for the first data row
# Rows upserted per try while looking for a bad row.
LOCATE_CHUNK = 10_000
# Bind parameters per multi-row INSERT (the protocol allows 65,535).
PARAMETERS_PER_INSERT = 30_000


@dataclass
class LiveColumn:
    name: str
    type: str
    required: bool  # NOT NULL with no default, identity or generated value


@dataclass
class SeedResult:
    file_rows: int
    inserted: int = 0
    updated: int = 0
    not_in_file: int = 0
    deleted: int = 0
    method: str = "copy"
    partitions_created: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.file_rows - self.inserted - self.updated

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted or self.partitions_created)


def read_frame(seed: Seed, secret_values: dict[str, str] | None = None) -> pd.DataFrame:
    """The file as strings (an empty field is NULL), with the secret columns added."""
    frame = pd.read_csv(seed.path, dtype=str, keep_default_na=False, na_filter=False)
    frame = frame.astype(object).where(frame != "", None)
    for column, value in (secret_values or {}).items():
        frame[column] = value
    return frame


def record_line(seed: Seed, record: int) -> int:
    """The file line on which data row `record` starts (quoted fields may span lines)."""
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
    rows = session.rows(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, "
        "a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '' "
        "AS required FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum",
        (sql.Identifier(seed.schema, seed.table).as_string(session.conn),),
    )
    return {r["attname"]: LiveColumn(r["attname"], r["type"], r["required"]) for r in rows}


def validate_frame(seed: Seed, frame: pd.DataFrame, live: dict[str, LiveColumn]) -> None:
    """What can be told before the server sees a row: columns, missing values, duplicate keys."""
    for column in seed.columns:
        if column not in live:
            raise seed.error(f"table {seed.qualified_table} has no such column", 1, column)
    for column in live.values():
        if column.required and column.name not in frame.columns:
            raise seed.error(
                f"required by {seed.qualified_table} (NOT NULL, no default) but missing "
                "from the header",
                1,
                column.name,
            )
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

    counts = session.rows(
        sql.SQL(
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
                sql.SQL("s.{0} = t.{0}").format(sql.Identifier(c)) for c in seed.key
            ),
        ),
        [frame[c].tolist() for c in header],
    )[0]
    return Comparison(len(frame), counts["matching"], counts["missing"], counts["table_rows"])


def in_place(comparison: Comparison, seed: Seed) -> bool:
    """Every row of the file is in the table as written (and, for an owning seed, no other)."""
    every_row = comparison.matching == comparison.file_rows
    return every_row and (not seed.owns_table or comparison.not_in_file == 0)


def stage(session: Session, seed: Seed, frame: pd.DataFrame) -> str:
    """Create the staging table and fill it; returns the method used ("copy"/"insert")."""
    columns = list(frame.columns)
    session.conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {stage} ON COMMIT DROP AS "
            "SELECT 0::bigint AS {record}, {columns} FROM {table} WITH NO DATA"
        ).format(
            stage=sql.Identifier(STAGE),
            record=sql.Identifier(RECORD),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            table=sql.Identifier(seed.schema, seed.table),
        )
    )
    try:
        with session.conn.transaction():
            _copy(session, frame)
        return "copy"
    except psycopg.errors.FeatureNotSupported:  # a server without COPY FROM STDIN
        pass
    except psycopg.Error as error:
        _raise_located(session, seed, frame, error, _insert)
    try:
        with session.conn.transaction():
            _insert(session, frame)
    except psycopg.Error as error:
        _raise_located(session, seed, frame, error, _insert)
    return "insert"


def _target_columns(frame: pd.DataFrame) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, [RECORD, *frame.columns]))


def _copy(session: Session, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    # The index is the record number; None is written as an empty, unquoted field.
    frame.to_csv(buffer, header=False, index=True)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(STAGE), _target_columns(frame)
    )
    with session.conn.cursor().copy(statement) as copy:
        copy.write(buffer.getvalue())


def _insert(session: Session, frame: pd.DataFrame) -> None:
    width = len(frame.columns) + 1
    per_batch = max(1, PARAMETERS_PER_INSERT // width)
    row = sql.SQL("({})").format(sql.SQL(", ").join([sql.Placeholder()] * width))
    for start in range(0, len(frame), per_batch):
        batch = frame.iloc[start : start + per_batch]
        params = [
            value
            for record, values in zip(batch.index, batch.itertuples(index=False), strict=True)
            for value in (int(record), *values)
        ]
        session.conn.execute(
            sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
                sql.Identifier(STAGE),
                _target_columns(frame),
                sql.SQL(", ").join([row] * len(batch)),
            ),
            params,
        )


def _raise_located(
    session: Session,
    seed: Seed,
    frame: pd.DataFrame,
    error: psycopg.Error,
    attempt: Callable[[Session, pd.DataFrame], None],
) -> None:
    """Find the first row on which `attempt` fails alone, and fail naming it."""
    record = first_failing(session, len(frame), lambda a, b: attempt(session, frame.iloc[a:b]))
    if record is None:
        raise seed.error(_server_message(error)) from error
    column = (
        error.diag.column_name
        or _constraint_column(session, seed, error.diag.constraint_name)
        or _bad_value_column(session, seed, frame, record)
    )
    raise seed.error(_server_message(error), record_line(seed, record), column) from error


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


def _constraint_column(session: Session, seed: Seed, constraint: str | None) -> str | None:
    """The (first) column of the table's constraint a row violated."""
    if not constraint:
        return None
    return session.value(
        "SELECT a.attname FROM pg_constraint con JOIN pg_attribute a "
        "ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] "
        "WHERE con.conrelid = %s::regclass AND con.conname = %s",
        (sql.Identifier(seed.schema, seed.table).as_string(session.conn), constraint),
    )


def _bad_value_column(session: Session, seed: Seed, frame: pd.DataFrame, record: int) -> str | None:
    """The first value of a row that its column's type does not accept."""
    types = {c.name: c.type for c in live_columns(session, seed).values()}
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


def upsert(session: Session, seed: Seed, frame: pd.DataFrame, result: SeedResult) -> None:
    """One INSERT ... ON CONFLICT from the staging table; counts what it inserted/updated
    (new keys counted first: a partitioned table cannot return xmax)."""
    result.inserted = int(
        session.value(
            sql.SQL("SELECT count(*) FROM {} s WHERE NOT {}").format(
                sql.Identifier(STAGE), _in_table(seed)
            )
        )
    )
    written = session.value(_upsert_sql(seed, list(frame.columns), bounded=False))
    result.updated = int(written) - result.inserted


def _in_table(seed: Seed) -> sql.Composable:
    """Whether the staged row `s` has its key in the table."""
    match = sql.SQL(" AND ").join(
        sql.SQL("t.{0} = s.{0}").format(sql.Identifier(c)) for c in seed.key
    )
    return sql.SQL("EXISTS (SELECT 1 FROM {} t WHERE {})").format(
        sql.Identifier(seed.schema, seed.table), match
    )


def _upsert_sql(seed: Seed, columns: list[str], bounded: bool) -> sql.Composed:
    keep = set(seed.key) | set(seed.insert_only) | set(seed.secrets)
    updated = [c for c in columns if c not in keep]
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
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
    where = (
        sql.SQL(" WHERE {record} >= %s AND {record} < %s").format(record=sql.Identifier(RECORD))
        if bounded
        else sql.SQL("")
    )
    return sql.SQL(
        "WITH written AS (INSERT INTO {table} AS t ({names}) "
        "SELECT {names} FROM {stage}{where} ORDER BY {record} "
        "ON CONFLICT ({key}) {conflict} RETURNING 1) SELECT count(*) FROM written"
    ).format(
        table=sql.Identifier(seed.schema, seed.table),
        names=names,
        stage=sql.Identifier(STAGE),
        where=where,
        record=sql.Identifier(RECORD),
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
    session: Session, seed: Seed, graph: SchemaGraph, secret_values: dict[str, str]
) -> SeedResult:
    """Upsert one seed in one transaction; any bad row fails it with nothing changed."""
    frame = read_frame(seed, secret_values)
    result = SeedResult(file_rows=len(frame))
    with session.transaction():
        live = live_columns(session, seed)
        if not live:
            raise seed.error(f"table {seed.qualified_table} does not exist")
        validate_frame(seed, frame, live)
        try:
            with session.conn.transaction():
                comparison = compare(session, seed, frame, live)
        except psycopg.Error:  # a value the server refuses: staging below locates it
            comparison = None
        if comparison is not None and in_place(comparison, seed):
            result.method, result.not_in_file = "none (already in place)", comparison.not_in_file
            return result
        result.method = stage(session, seed, frame)
        result.partitions_created = cover_partitions(session, seed, graph)
        try:
            with session.conn.transaction():
                upsert(session, seed, frame, result)
        except psycopg.Error as error:
            _raise_located(session, seed, frame, error, _bounded_upsert(seed, frame))
        result.not_in_file = rows_not_in_file(session, seed, delete=seed.owns_table)
        result.deleted = result.not_in_file if seed.owns_table else 0
        if result.inserted:
            advance_sequences(session, seed, list(frame.columns))
    return result


def _bounded_upsert(seed: Seed, frame: pd.DataFrame) -> Callable[[Session, pd.DataFrame], None]:
    statement = _upsert_sql(seed, list(frame.columns), bounded=True)

    def attempt(session: Session, part: pd.DataFrame) -> None:
        if len(part):
            session.conn.execute(statement, (int(part.index[0]), int(part.index[-1]) + 1))

    return attempt


def secret_values(seed: Seed, generate: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Each secret column's bcrypt hash of its environment variable. Unset, the load
    fails naming the variable, unless `generate` (the embedded demo database): then a
    random password is made, returned so the caller can show it once."""
    values: dict[str, str] = {}
    generated: dict[str, str] = {}
    for column, variable in seed.secrets.items():
        password = os.environ.get(variable)
        if not password:
            if not generate:
                raise seed.error(
                    f"the environment variable {variable} is not set; it holds the password "
                    f"whose bcrypt hash is stored in {column}"
                )
            password = generated[variable] = secrets.token_urlsafe(18)
        values[column] = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    return values, generated
