"""Dagster's run, event-log and schedule storage in PostgreSQL, over a bounded connection pool.

dagster-postgres (0.29.27) opens a new connection for every statement outside the webserver
(SQLAlchemy's NullPool), so a run that writes a few hundred events opens a few hundred
connections; upstream request dagster-io/dagster#33935. These are thin subclasses that swap
that engine for a pooled one and change nothing else. They are a stop-gap: once
dagster-postgres pools connections itself, `dagster.yaml` goes back to `storage: postgres:`.

The three storages of one instance share one engine, so a process holds at most
`pool_size + max_overflow` storage connections, whatever it runs. The webserver still
calls `optimize_for_webserver`, which installs dagster-postgres's own webserver engines.

A run plans an event for every selected asset and check before it starts. Dagster hands
them to the storage as one batch only when `DAGSTER_EVENT_BATCH_SIZE` is set in the
process, and dagster-postgres then still writes them one by one (five statements each);
so the storage sets that variable (`event_batch_size`, unless the environment has one) and
writes a batch of planned events in three statements.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import dagster._check as check
from dagster import Field, IntSource
from dagster._config.config_schema import UserConfigSchema
from dagster._core.event_api import EventLogEntry
from dagster._core.events import DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.config import pg_config
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetKeyTable,
    SqlEventLogStorageTable,
)
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
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

if TYPE_CHECKING:
    from dagster_postgres.auth import PgTokenProvider

# Connections kept open, and how many more may be opened (and closed again) at a busy moment.
DEFAULT_POOL_SIZE = 2
DEFAULT_MAX_OVERFLOW = 2
# Planned events written per batch (a run of N assets and checks plans N events).
DEFAULT_EVENT_BATCH_SIZE = 1000
EVENT_BATCH_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
PLANNED_EVENTS = {
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
}


def pooled_config() -> UserConfigSchema:
    """dagster-postgres's configuration, plus the pool's bounds."""
    return {
        **pg_config(),
        "pool_size": Field(IntSource, is_required=False, default_value=DEFAULT_POOL_SIZE),
        "max_overflow": Field(IntSource, is_required=False, default_value=DEFAULT_MAX_OVERFLOW),
        "event_batch_size": Field(
            IntSource, is_required=False, default_value=DEFAULT_EVENT_BATCH_SIZE
        ),
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
    """dagster-postgres's event-log storage over a pooled engine, writing a run's planned
    events in batches."""

    def __init__(
        self,
        *args: Any,
        event_batch_size: int = DEFAULT_EVENT_BATCH_SIZE,
        **kwargs: Any,
    ):
        # Dagster's instance reads the variable at each event; 0 turns batching off.
        os.environ.setdefault(EVENT_BATCH_VARIABLE, str(event_batch_size))
        super().__init__(*args, **kwargs)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(
            inst_data=inst_data,
            event_batch_size=config_value.get("event_batch_size", DEFAULT_EVENT_BATCH_SIZE),
            **_storage_arguments(config_value),
        )

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch of planned events in three statements: the events, their assets' rows
        (upstream's `_store_asset_event`, as one upsert) and their checks' planned
        executions (upstream's `_store_asset_check_evaluation_planned`, as one insert).
        Any other batch is upstream's."""
        if not events or any(event.dagster_event_type not in PLANNED_EVENTS for event in events):
            super().store_event_batch(events)
            return
        # Executed as many rows of one statement (SQLAlchemy's "insertmanyvalues": one
        # compiled statement, rows sent in pages), not as one statement of every row,
        # whose compiling cost more than the insert.
        events_table = SqlEventLogStorageTable
        rows = [self._event_to_row(event) for event in events]
        with self._connect() as conn:
            inserted = conn.execute(
                events_table.insert().returning(events_table.c.id, sort_by_parameter_order=True),
                rows,
            )
            event_ids = [int(row[0]) for row in inserted.fetchall()]
        # Each event serialized once: a check's planned execution stores the same text.
        serialized = {id(event): row["event"] for event, row in zip(events, rows, strict=True)}
        stored = list(zip(events, event_ids, strict=True))
        assets = [
            (event, event_id)
            for event, event_id in stored
            if event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ]
        checks = [
            (event, event_id)
            for event, event_id in stored
            if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
        ]
        if assets:
            with self.index_transaction() as conn:
                self._store_planned_assets(conn, assets)
        if checks:
            check.invariant(
                self.supports_asset_checks,
                "Asset checks require a database schema migration. Run `dagster instance migrate`.",
            )
            with self.index_connection() as conn:
                conn.execute(
                    AssetCheckExecutionsTable.insert(), self._planned_checks(checks, serialized)
                )

    def has_table(self, table_name: str) -> bool:
        # Asked for every asset check event (a connection and an inspection each); a
        # table, once there, stays while the process runs, so a found one is remembered.
        found: set[str] = self.__dict__.setdefault("_tables_found", set())
        if table_name not in found and super().has_table(table_name):
            found.add(table_name)
        return table_name in found

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        # Asked for every asset event, each time by reflecting the table's columns (a
        # tenth of a 1,000-asset run); remembered once found, as tables are.
        found: set[str] = self.__dict__.setdefault("_asset_key_columns_found", set())
        if column_name not in found and super()._has_asset_key_col_on_connection(conn, column_name):
            found.add(column_name)
        return column_name in found

    def _store_planned_assets(
        self, conn: Connection, assets: list[tuple[EventLogEntry, int]]
    ) -> None:
        self._store_asset_event_tags(conn, [event for event, _ in assets], [i for _, i in assets])
        index_columns = self._has_asset_key_index_cols_on_connection(conn)
        rows: dict[str, dict[str, Any]] = {}  # one per asset: a statement updates a row once
        for event, event_id in assets:
            asset_key = check.not_none(event.get_dagster_event().asset_key).to_string()
            values = self._get_asset_entry_values(event, event_id, index_columns)
            rows[asset_key] = {"asset_key": asset_key, **values}
        upsert = insert(AssetKeyTable)
        columns = {column for row in rows.values() for column in row} - {"asset_key"}
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[AssetKeyTable.c.asset_key],
                set_={column: upsert.excluded[column] for column in columns},
            ),
            list(rows.values()),
        )

    def _planned_checks(
        self, checks: list[tuple[EventLogEntry, int]], serialized: Mapping[int, str]
    ) -> list[dict[str, Any]]:
        rows = []
        for event, event_id in checks:
            planned = event.get_dagster_event().asset_check_planned_data
            subset = planned.partitions_subset
            for partition in subset.get_partition_keys() if subset else [None]:
                rows.append(
                    {
                        "asset_key": planned.asset_key.to_string(),
                        "check_name": planned.check_name,
                        "partition": partition,
                        "run_id": event.run_id,
                        "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                        "evaluation_event": serialized[id(event)],
                        "evaluation_event_timestamp": self._event_insert_timestamp(event),
                        "evaluation_event_storage_id": event_id,
                    }
                )
        return rows


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
        event_batch_size: int = DEFAULT_EVENT_BATCH_SIZE,
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
            postgres_url, should_autocreate_tables, event_batch_size=event_batch_size, **arguments
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
        return cls(
            inst_data=inst_data,
            event_batch_size=config_value.get("event_batch_size", DEFAULT_EVENT_BATCH_SIZE),
            **_storage_arguments(config_value),
        )

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
