"""The schema database as a Dagster resource."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg

from platform_assets import settings
from platform_assets.live.embedded import (
    DAGSTER_DATABASE,
    SCHEMA_DATABASE,
    EmbeddedClusterError,
    default_cluster,
)
from platform_assets.live.session import Session


class SchemaDatabase(dg.ConfigurableResource):
    """The database whose schema the platform owns.

    `url` comes from PLATFORM_DATABASE_URL (a component instance names its own variable);
    left unset, `embedded_database` on the project's embedded cluster is used (and the
    cluster started if it is not running), so two instances never share a database.
    """

    url: str | None = None
    embedded_database: str = SCHEMA_DATABASE

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        cluster = default_cluster()
        cluster.up(
            tuple(dict.fromkeys((SCHEMA_DATABASE, DAGSTER_DATABASE, self.embedded_database)))
        )
        return cluster.url(self.embedded_database)

    def is_embedded(self) -> bool:
        """Whether this is the project's own embedded cluster (the demo database)."""
        if not self.url:
            return True
        try:
            return self.url == default_cluster().url(self.embedded_database)
        except EmbeddedClusterError:  # no embedded cluster was ever set up
            return False

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.resolved_url(), autocommit=True)

    @contextmanager
    def session(self, log: Callable[[str], None] | None = None) -> Iterator[Session]:
        with self.connect() as conn:
            yield Session(conn, log)


def database_from_environment(
    variable: str = settings.DATABASE_URL, embedded_database: str = SCHEMA_DATABASE
) -> SchemaDatabase:
    # EnvVar keeps the URL out of the run config; Dagster fails on an unset one,
    # so the embedded default applies when the variable is absent at load time.
    if settings.database_url(variable):
        return SchemaDatabase(url=dg.EnvVar(variable), embedded_database=embedded_database)
    return SchemaDatabase(embedded_database=embedded_database)


def configured_database() -> SchemaDatabase:
    """The same database outside Dagster (the `platform` CLI), with the URL read now."""
    return SchemaDatabase(url=settings.database_url())
