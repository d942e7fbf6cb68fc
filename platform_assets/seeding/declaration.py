"""Seed data sets: `seeds/<schema>/<table>.csv`, each one asset that upserts its rows.

A seed's rows are matched to the live table's columns by header name and converted
by the server to the columns' types (an empty field is NULL). Loading is an upsert
on the table's primary key, or on the first unique key the file carries, so a
re-run changes nothing and an edited row is updated. Rows in the table but not in
the file are reported, and deleted only when the seed owns the table.

An optional `seeds/<schema>/seeds.toml` sets, per table:

    [dashboard_users]
    key = ["username"]                    # the upsert key (default: as above)
    owns_table = false                    # delete rows the file does not have
    insert_only = ["must_change_password"]  # written when a row is created, never updated
    [dashboard_users.secrets]
    password_hash = "WILDDUCK_ADMIN_PASSWORD"  # bcrypt hash of this variable; insert-only
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platform_assets.model.declarations import KeyKind, TableDefinition
from platform_assets.model.errors import SchemaError, SchemaErrors
from platform_assets.model.objects import ObjectKey, ObjectKind, SchemaObject, SourceLocation

SEED_CONFIG = "seeds.toml"


@dataclass
class Seed:
    """One CSV file and what loading it needs to know."""

    schema: str
    table: str
    path: Path  # absolute
    location: SourceLocation  # the file relative to the project, line 1 (the header)
    header: list[str]
    key: list[str]
    owns_table: bool = False
    insert_only: list[str] = field(default_factory=list)
    # column -> environment variable whose bcrypt hash the column receives
    secrets: dict[str, str] = field(default_factory=dict)
    depends_on: set[ObjectKey] = field(default_factory=set)
    # Rows written as INSERT ... VALUES in a schema file: the same rows as CSV (with
    # the header), and the file line of each row. None for a CSV seed.
    inline_csv: str | None = None
    inline_lines: list[int] = field(default_factory=list)
    # False when no unique constraint backs the key (INSERT rows into a keyless table,
    # matched on every column): rows are inserted when missing, never updated.
    key_constrained: bool = True

    def content(self) -> bytes:
        """The CSV, header first: the file's, or the one made from INSERT rows."""
        if self.inline_csv is not None:
            return self.inline_csv.encode()
        return self.path.read_bytes()

    @property
    def key_path(self) -> ObjectKey:
        """The seed's asset key: <schema>/seed/<table>."""
        return (self.schema, "seed", self.table)

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def columns(self) -> list[str]:
        """Columns written: the file's, then the secret ones."""
        return [*self.header, *(c for c in self.secrets if c not in self.header)]

    def describe(self) -> str:
        return f"seed {self.qualified_table}"

    def error(self, message: str, line: int = 1, column: str | None = None) -> SchemaError:
        where = SourceLocation(self.location.file, line)
        return SchemaError(
            f"column {column}: {message}" if column else message, where, self.describe()
        )


def discover_seeds(
    root: Path, tables: dict[ObjectKey, SchemaObject], seeds_dir: Path | None = None
) -> dict[ObjectKey, Seed]:
    """Every `<seeds_dir>/<schema>/<table>.csv` (default `<root>/seeds`), checked against the
    declared tables; problems fail definitions load with the file and line."""
    seeds_dir = seeds_dir or root / "seeds"
    if not seeds_dir.is_dir():
        return {}
    found: dict[ObjectKey, Seed] = {}
    errors: list[SchemaError] = []
    for path in sorted(seeds_dir.glob("*/*.csv")):
        try:
            seed = _read_seed(path, root, tables)
        except SchemaError as error:
            errors.append(error)
            continue
        found[seed.key_path] = seed
    for seed in found.values():
        table = tables[(seed.schema, seed.table)]
        for dep in table.depends_on:
            referenced = tables.get(dep)
            if referenced is None or referenced.kind != ObjectKind.TABLE:
                continue
            seed.depends_on.add(dep)
            # The referenced rows must be there before these are checked against them.
            other = (referenced.schema, "seed", referenced.name)
            if other in found:
                seed.depends_on.add(other)
    if errors:
        raise SchemaErrors(errors)
    return found


def _header(path: Path) -> list[str]:
    """The file's column names. The csv module reads this one line: importing pandas
    (which reads the rows, seed_load.py) would cost every definitions load ~0.5 s."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        return next(csv.reader(file), [])


def _read_seed(path: Path, root: Path, tables: dict[ObjectKey, SchemaObject]) -> Seed:
    schema, table_name = path.parent.name, path.stem
    relative = path.relative_to(root)
    location = SourceLocation(relative, 1)
    table = tables.get((schema, table_name))
    if table is None or table.kind != ObjectKind.TABLE:
        raise SchemaError(
            f"no table {schema}.{table_name} is declared in sql/ for this seed",
            location,
            f"seed {schema}.{table_name}",
        )
    config = _table_config(path, table_name)
    header = _header(path)
    seed = Seed(
        schema=table.schema,
        table=table.name,
        path=path,
        location=location,
        header=header,
        key=[],
        owns_table=bool(config.get("owns_table", False)),
        insert_only=list(config.get("insert_only", [])),
        secrets=dict(config.get("secrets", {})),
    )
    seed.depends_on.add(table.key)
    declared = declared_columns(table)
    if declared is not None:
        for column in seed.columns:
            if column not in declared:
                raise seed.error(f"not a column of table {table.qualified_name}", 1, column)
    seed.key = list(config.get("key") or _default_key(table, header, seed))
    for column in seed.key:
        if column not in header:
            raise seed.error(f"the key column is not in the file's header (key: {seed.key})")
    return seed


def _table_config(path: Path, table: str) -> dict:
    config_path = path.parent / SEED_CONFIG
    if not config_path.is_file():
        return {}
    with config_path.open("rb") as handle:
        return tomllib.load(handle).get(table, {})


def declared_columns(table: SchemaObject) -> list[str] | None:
    """Column names of a CREATE TABLE (None for `PARTITION OF` and the like)."""
    columns = table.declared(TableDefinition).columns
    return None if columns is None else [c.name for c in columns]


def _default_key(table: SchemaObject, header: list[str], seed: Seed) -> list[str]:
    """The primary key when the file has its columns, else the first such unique key."""
    # Table-level keys first, then those written on a column.
    keys = sorted(
        (k for k in table.declared(TableDefinition).keys if k.statement == 0),
        key=lambda k: k.column_level,
    )
    primary = [list(k.columns) for k in keys if k.kind == KeyKind.PRIMARY]
    unique = [list(k.columns) for k in keys if k.kind == KeyKind.UNIQUE]
    for key in primary + unique:
        if key and all(column in header for column in key):
            return key
    raise seed.error(
        f"the file carries no primary or unique key of {table.qualified_name}; "
        f"add the key columns or declare `key` in {SEED_CONFIG}"
    )


def inline_seed(
    table: SchemaObject,
    path: Path,
    location: SourceLocation,
    columns: list[str] | None,
    rows: list[list[str | None]],
    lines: list[int],
    do_nothing: bool,
) -> Seed:
    """A seed from `INSERT INTO t ... VALUES` rows of a schema file (`path`, the file).

    Its key is the table's primary or unique key when the rows carry it, else every
    column (a tutorial's lookup table often has none); with ON CONFLICT DO NOTHING,
    existing rows are never updated.
    """
    header = columns or declared_columns(table) or []
    seed = Seed(
        schema=table.schema,
        table=table.name,
        path=path,
        location=location,
        header=header,
        key=[],
        inline_lines=list(lines),
    )
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise seed.error(f"the row has {len(row)} values for {len(header)} columns", line)
    declared = declared_columns(table)
    for column in header:
        if declared is not None and column not in declared:
            raise seed.error(f"not a column of table {table.qualified_name}", location.line, column)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    # An empty field is NULL, as in a CSV seed.
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    seed.inline_csv = buffer.getvalue()
    try:
        seed.key = _default_key(table, header, seed)
    except SchemaError:
        seed.key = list(header)
        seed.key_constrained = False
    if do_nothing:
        seed.insert_only = [column for column in header if column not in seed.key]
    seed.depends_on.add(table.key)
    return seed


def add_rows(seed: Seed, other: Seed) -> None:
    """Another INSERT into the same table: its rows join the seed's."""
    if other.header != seed.header:
        raise other.error(
            f"INSERT columns ({', '.join(other.header)}) differ from the earlier INSERT "
            f"into {seed.qualified_table} at {seed.location} ({', '.join(seed.header)})",
            other.location.line,
        )
    assert seed.inline_csv is not None and other.inline_csv is not None
    seed.inline_csv += other.inline_csv.split("\n", 1)[1]
    seed.inline_lines += other.inline_lines
