"""The object graph: every declared object in dependency order, and its seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from platform_assets.model.objects import ObjectKey, ObjectKind, SchemaObject, object_key

if TYPE_CHECKING:
    from platform_assets.seeding.declaration import Seed

# Schemas that belong to the server or to extensions, never declared by users.
SYSTEM_SCHEMAS = frozenset(
    {
        "pg_catalog",
        "information_schema",
        "timescaledb_information",
        "timescaledb_experimental",
        "_timescaledb_functions",
        "_timescaledb_catalog",
        "_timescaledb_internal",
        "_timescaledb_config",
    }
)


@dataclass
class SchemaGraph:
    """All declared objects in dependency order."""

    objects: dict[ObjectKey, SchemaObject]
    order: list[ObjectKey]
    root: Path
    # Seed data sets (seeds/<schema>/<table>.csv), loaded after the objects, in this order.
    seeds: dict[ObjectKey, Seed] = field(default_factory=dict)

    def __iter__(self):
        return (self.objects[key] for key in self.order)

    def __len__(self) -> int:
        return len(self.objects)

    def __getitem__(self, key: ObjectKey) -> SchemaObject:
        return self.objects[key]

    def relation(self, schema: str, name: str) -> SchemaObject | None:
        return self.objects.get((schema, name))

    def attached(self, relation: SchemaObject, kind: ObjectKind) -> SchemaObject | None:
        return self.objects.get(object_key(kind, relation.schema, "", relation.name))

    def attachments(self, relation: SchemaObject) -> list[SchemaObject]:
        """Objects that belong to a relation (indexes, triggers, policies), in order."""
        return [
            obj for obj in self if obj.relation == relation.name and obj.schema == relation.schema
        ]

    def dependents(self, key: ObjectKey) -> list[SchemaObject]:
        return [obj for obj in self if key in obj.depends_on]
