"""The names of what one component instance defines: its jobs, ops, schedules, sensors,
pool and resource keys.

A code location may hold several instances (one per database); Dagster needs each of
these names once per location. An instance with a name puts it before every one
(`orders_verify_schema`, `orders_database`); an instance without one keeps the plain
names, as a single instance always had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from platform_assets.dagster.maintenance import PartitionClock
    from platform_assets.dagster.resources import SchemaDatabase

DATABASE = "database"
PARTITION_CLOCK = "partition_clock"


@dataclass(frozen=True)
class InstanceNames:
    """`prefix` ("" for an unnamed instance) before every name the instance defines."""

    prefix: str = ""

    def __call__(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    @property
    def database(self) -> str:
        """The key of the instance's `SchemaDatabase` resource."""
        return self(DATABASE)

    @property
    def partition_clock(self) -> str:
        """The key of the instance's `PartitionClock` resource."""
        return self(PARTITION_CLOCK)

    def database_of(self, context: Any) -> SchemaDatabase:
        """The instance's own database from an op, asset or sensor context."""
        return getattr(context.resources, self.database)

    def partition_clock_of(self, context: Any) -> PartitionClock:
        return getattr(context.resources, self.partition_clock)
