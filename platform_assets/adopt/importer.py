"""`platform import`: read a live database and write the project that declares it."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from platform_assets.adopt.layout import project_files
from platform_assets.adopt.partitions import upkept_tables
from platform_assets.adopt.timescale import declarations
from platform_assets.live.dump import dump_schemas, user_extensions, user_schemas
from platform_assets.live.reprinted import reprint, reprinted_definitions
from platform_assets.live.session import Session
from platform_assets.live.table_rows import table_rows
from platform_assets.live.timescale_declared import read_declarations
from platform_assets.model.errors import SchemaError, SchemaErrors
from platform_assets.model.graph import SchemaGraph
from platform_assets.parse.compiler import compile_files
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import name_identifier, regclass_name

HEADER = "-- Imported by `platform import` from the live database; now its declaration."
DUMP_NAME = "pg_dump.sql"
TIMESCALE_NAME = "timescaledb.sql"


def import_database(
    url: str,
    into: Path,
    schemas: list[str] | None = None,
    privileges: bool = False,
    seeds: Sequence[str] = (),
    note: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write `into/sql/<schema>/NN_<what>.sql` declaring the database's schemas (all of
    the user's when none are named), and `into/seeds/<schema>/<table>.csv` with the rows
    of each `seeds` table (`schema.table`); the files written, in order. What the files
    cannot say because the database does not hold it is told to `note`."""
    sql_dir = into / "sql"
    existing = sorted(sql_dir.rglob("*.sql")) if sql_dir.exists() else []
    if existing:
        raise SchemaError(
            f"{sql_dir} already holds {len(existing)} .sql file(s): import into a new directory"
        )
    with psycopg.connect(url, autocommit=True) as conn:
        session = Session(conn)
        found = user_schemas(session)
        extensions = user_extensions(session)
        unknown = [schema for schema in schemas or [] if schema not in found]
        if unknown:
            raise SchemaError(f"no schema {', '.join(unknown)} in the database (it has: {found})")
        chosen = schemas or found
        upkept = upkept_tables(session, chosen, session.value("SELECT now()"))
        timescale = read_declarations(session, chosen) if "timescaledb" in extensions else None
        seed_files = {_seed_path(name): _seed_text(session, name, chosen) for name in seeds}
        left_out = [(schema, name) for (schema, _), (_, names) in upkept.items() for name in names]
        # A continuous aggregate's user view is TimescaleDB's: it is declared from the catalog.
        left_out += [(a.schema, a.name) for a in timescale.aggregates] if timescale else []
        # Written as the server prints them back, so a round trip gives the same files.
        definitions = reprinted_definitions(session, chosen, left_out)
    dump = reprint(dump_schemas(url, chosen, extensions, privileges, left_out), definitions)
    graph = compile_dump(dump, declarations(timescale) if timescale else [])
    if timescale:
        graph = _without(graph, timescale.own_triggers)
    annotations = {table: annotation for table, (annotation, _) in upkept.items()}
    for schema, table in upkept:
        (note or (lambda _: None))(retention_note(schema, table))
    files = project_files(graph, HEADER, annotations)
    _check_files_load(files)
    written: list[Path] = []
    targets = {sql_dir / relative: text for relative, text in files.items()}
    targets.update({into / relative: text for relative, text in seed_files.items()})
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def retention_note(schema: str, table: str) -> str:
    """Upkeep's retention is a declaration only: no partition, bound or catalog row holds it."""
    return (
        f"{_shown(schema, table)}: upkept partitions, written as the "
        "annotated parent without retention, which the database does not hold: if old "
        'partitions are dropped, add retention="..." to its annotation'
    )


def _shown(schema: str, name: str) -> str:
    """A relation's name as the files write it: quoted only where needed."""
    return ".".join(name_identifier(part).sql(DIALECT) for part in (schema, name))


def _check_files_load(files: dict[Path, str]) -> None:
    """Everything written must load as a project, in the order it is laid out."""
    with tempfile.TemporaryDirectory() as directory:
        for relative, text in files.items():
            path = Path(directory) / "sql" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        compile_files(sorted((Path(directory) / "sql").rglob("*.sql")), Path(directory))


def seed_table(name: str) -> tuple[str, str]:
    """(schema, table) of a `--seed` name, read as PostgreSQL reads a qualified name: parts
    folded to lower case unless quoted (`"my.schema"."Tbl.x"`), `public` when unqualified."""
    try:
        table = exp.to_table(name, dialect=DIALECT)
    except (ParseError, TokenError):
        table = None
    if table is None or table.catalog or not table.name:
        raise SchemaError(
            f"--seed {name}: not a table name (SCHEMA.TABLE, each part quoted where needed)"
        )
    found = regclass_name(name)
    return found.schema or "public", found.name


def _seed_path(name: str) -> Path:
    schema, table = seed_table(name)
    return Path("seeds") / schema / f"{table}.csv"


def _seed_text(session: Session, name: str, schemas: list[str]) -> str:
    """A table's rows as a seed CSV: a header of column names, an empty field for NULL."""
    schema, table = seed_table(name)
    found = table_rows(session, schema, table) if schema in schemas else None
    if found is None:
        raise SchemaError(
            f"--seed {name}: no table {_shown(schema, table)} in the imported schemas"
        )
    columns, rows = found
    if any(value == "" for row in rows for value in row):
        raise SchemaError(
            f"--seed {name}: a value is the empty string, which a seed file reads as NULL"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()


def compile_dump(dump: str, timescale: Sequence[str] = ()) -> SchemaGraph:
    """The graph of the dump and the TimescaleDB declarations read from the catalog; what
    the platform cannot declare fails here, each error naming the object and its line."""
    with tempfile.TemporaryDirectory() as directory:
        dump_path = Path(directory) / DUMP_NAME
        dump_path.write_text(dump, encoding="utf-8")
        paths = [dump_path]
        if timescale:
            paths.append(Path(directory) / TIMESCALE_NAME)
            paths[1].write_text("".join(f"{text};\n" for text in timescale), encoding="utf-8")
        try:
            return compile_files(paths, Path(directory))
        except SchemaError as error:
            sources = {path.name: path.read_text().splitlines() for path in paths}
            raise _with_source_lines(error, sources) from error


def _without(graph: SchemaGraph, keys: set[tuple[str, ...]]) -> SchemaGraph:
    """The graph without the objects TimescaleDB made itself (its triggers)."""
    for key in keys & set(graph.objects):
        del graph.objects[key]
    graph.order = [key for key in graph.order if key in graph.objects]
    return graph


def _with_source_lines(error: SchemaError, sources: dict[str, list[str]]) -> SchemaErrors:
    errors = error.errors if isinstance(error, SchemaErrors) else [error]
    for each in errors:
        lines = sources.get(each.location.file.name, []) if each.location else []
        if each.location is not None and 0 < each.location.line <= len(lines):
            each.message += f"\n    {lines[each.location.line - 1].strip()}"
    return SchemaErrors(
        [SchemaError("the database holds what the platform cannot declare")] + errors
    )
