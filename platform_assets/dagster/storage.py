"""Dagster's run, event-log and schedule storage in PostgreSQL, over a bounded connection pool.

dagster-postgres (0.29.27) opens a new connection for every statement outside the webserver
(SQLAlchemy's NullPool), so a run that writes a few hundred events opens a few hundred
connections; upstream request dagster-io/dagster#33935. These are thin subclasses that swap
that engine for a pooled one and change nothing else. They are a stop-gap: once
dagster-postgres pools connections itself, `dagster.yaml` goes back to `storage: postgres:`.

The three storages of one instance share one engine, so a process holds at most
`pool_size + max_overflow` storage connections, whatever it runs. The webserver still
calls `optimize_for_webserver`, which installs dagster-postgres's own webserver engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import dagster._check as check
from dagster import Field, IntSource
from dagster._config.config_schema import UserConfigSchema
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.config import pg_config
from dagster._serdes import ConfigurableClassData
from dagster_postgres import (
    DagsterPostgresStorage,
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool, QueuePool

if TYPE_CHECKING:
    from dagster_postgres.auth import PgTokenProvider

# Connections kept open, and how many more may be opened (and closed again) at a busy moment.
DEFAULT_POOL_SIZE = 2
DEFAULT_MAX_OVERFLOW = 2


def pooled_config() -> UserConfigSchema:
    """dagster-postgres's configuration, plus the pool's bounds."""
    return {
        **pg_config(),
        "pool_size": Field(IntSource, is_required=False, default_value=DEFAULT_POOL_SIZE),
        "max_overflow": Field(IntSource, is_required=False, default_value=DEFAULT_MAX_OVERFLOW),
    }


def pooled_engine(
    postgres_url: str,
    token_provider: PgTokenProvider | None = None,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
) -> Engine:
    """A SQLAlchemy engine as dagster-postgres builds it, keeping its connections in a pool."""
    return create_pg_engine(
        postgres_url,
        token_provider,
        isolation_level="AUTOCOMMIT",
        poolclass=QueuePool,
        pool_size=check.int_param(pool_size, "pool_size"),
        max_overflow=check.int_param(max_overflow, "max_overflow"),
        # A connection the server closed (restart, idle timeout) is replaced, not handed out.
        pool_pre_ping=True,
    )


def _pool_settings(config_value: Mapping[str, Any]) -> dict[str, int]:
    return {
        "pool_size": config_value.get("pool_size", DEFAULT_POOL_SIZE),
        "max_overflow": config_value.get("max_overflow", DEFAULT_MAX_OVERFLOW),
    }


def _storage_arguments(config_value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "postgres_url": pg_url_from_config(config_value),
        "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
        "token_provider": get_token_provider_from_config(config_value),
        **_pool_settings(config_value),
    }


class _PooledEngine:
    """The engine attribute of a dagster-postgres storage, pooled.

    Upstream assigns `self._engine` a NullPool engine in `__init__` and uses it at once to
    create and migrate tables; the pooled engine is set before that and kept, so those
    statements are pooled too. Any other engine assigned later (the webserver's, from
    `optimize_for_webserver`) replaces it as upstream intends.
    """

    _pooled: Engine

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: PgTokenProvider | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
        engine: Engine | None = None,
    ):
        self._pooled = engine or pooled_engine(
            postgres_url, token_provider, pool_size, max_overflow
        )
        # The dagster-postgres storage this is mixed into.
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return pooled_config()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(inst_data=inst_data, **_storage_arguments(config_value))

    @property
    def _engine(self) -> Engine:
        return self._pooled

    @_engine.setter
    def _engine(self, engine: Engine) -> None:
        if isinstance(engine.pool, NullPool):
            engine.dispose()
            return
        self._pooled = engine


class PooledPostgresRunStorage(_PooledEngine, PostgresRunStorage):
    """dagster-postgres's run storage over a pooled engine."""


class PooledPostgresEventLogStorage(_PooledEngine, PostgresEventLogStorage):
    """dagster-postgres's event-log storage over a pooled engine."""

    def has_table(self, table_name: str) -> bool:
        # Asked for every asset check event (a connection and an inspection each); a
        # table, once there, stays while the process runs, so a found one is remembered.
        found: set[str] = self.__dict__.setdefault("_tables_found", set())
        if table_name not in found and super().has_table(table_name):
            found.add(table_name)
        return table_name in found


class PooledPostgresScheduleStorage(_PooledEngine, PostgresScheduleStorage):
    """dagster-postgres's schedule storage over a pooled engine."""


class PooledPostgresStorage(DagsterPostgresStorage):
    """The unified storage `dagster.yaml` names (`storage: custom:`): the three pooled
    storages over one shared engine."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: PgTokenProvider | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
    ):
        # Not DagsterPostgresStorage.__init__: it would build the unpooled storages.
        self.postgres_url = postgres_url
        self.should_autocreate_tables = check.bool_param(
            should_autocreate_tables, "should_autocreate_tables"
        )
        self._inst_data = check.opt_inst_param(inst_data, "inst_data", ConfigurableClassData)
        engine = pooled_engine(postgres_url, token_provider, pool_size, max_overflow)
        arguments = {"token_provider": token_provider, "engine": engine}
        self._run_storage = PooledPostgresRunStorage(
            postgres_url, should_autocreate_tables, **arguments
        )
        self._event_log_storage = PooledPostgresEventLogStorage(
            postgres_url, should_autocreate_tables, **arguments
        )
        self._schedule_storage = PooledPostgresScheduleStorage(
            postgres_url, should_autocreate_tables, **arguments
        )
        DagsterStorage.__init__(self)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return pooled_config()

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledPostgresStorage:
        return cls(inst_data=inst_data, **_storage_arguments(config_value))

    def _part(self, class_name: str) -> ConfigurableClassData | None:
        if not self.inst_data:
            return None
        return ConfigurableClassData(__name__, class_name, self.inst_data.config_yaml)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return self._part(PooledPostgresEventLogStorage.__name__)

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return self._part(PooledPostgresRunStorage.__name__)

    @property
    def schedule_storage_data(self) -> ConfigurableClassData | None:
        return self._part(PooledPostgresScheduleStorage.__name__)
