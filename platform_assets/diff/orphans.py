"""Live objects in a declared schema that nothing declares: reported, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from psycopg import sql

from platform_assets.execute import rollups
from platform_assets.live import timescale_catalog as tc
from platform_assets.live.session import Session
from platform_assets.model.objects import ObjectKind, SchemaObject

# -- orphans ------------------------------------------------------------------------


@dataclass(frozen=True)
class Orphan:
    kind: str
    schema: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.kind} {self.schema}.{self.name}{extra}"


_RELKIND_NAMES = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}


def orphans(session: Session, graph: Iterable[SchemaObject], schemas: set[str]) -> list[Orphan]:
    """Tables, views, indexes (other than a constraint's) and functions that live in
    a declared schema but are declared nowhere. Reported, never dropped: they may
    hold data, or belong to something the platform does not own."""
    declared_relations: set[tuple[str, str]] = set()
    declared_functions: set[tuple[str, str]] = set()
    for obj in graph:
        if obj.kind == ObjectKind.FUNCTION:
            declared_functions.add((obj.schema, obj.name))
        elif obj.kind in (
            ObjectKind.TABLE,
            ObjectKind.VIEW,
            ObjectKind.MATERIALIZED_VIEW,
            ObjectKind.CONTINUOUS_AGGREGATE,
            ObjectKind.INDEX,
        ):
            declared_relations.add((obj.schema, obj.name))
            if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE:  # the platform's own index on it
                declared_relations.add((obj.schema, rollups.group_index_name(obj)))
    if not schemas:
        return []
    # TimescaleDB's own relations (chunks in a hypertable's associated schema, their
    # indexes, create_hypertable's default indexes), read from its catalog.
    timescale = tc.own_relations(session, sorted(schemas))
    declared_relations |= timescale.internal | timescale.default_indexes
    rows = session.rows(
        """
        SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
               t.relname::text AS owner
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_index i ON i.indexrelid = c.oid
        LEFT JOIN pg_class t ON t.oid = i.indrelid
        WHERE n.nspname = ANY(%(schemas)s)
          AND c.relkind IN ('r', 'p', 'v', 'm', 'i', 'I')
          AND NOT c.relispartition
          AND NOT coalesce(t.relispartition, false)
          -- an index backing a constraint belongs to the constraint
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = c.oid
                          AND con.contype IN ('p', 'u', 'x'))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                          AND d.classid = 'pg_class'::regclass AND d.deptype = 'e')
        UNION ALL
        SELECT n.nspname::text, p.proname::text, 'f', NULL
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(schemas)s)
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid
                          AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e')
        ORDER BY 1, 2
        """,
        {"schemas": sorted(schemas)},
    )
    found = []
    for row in rows:
        key = (row["schema"], row["name"])
        if row["relkind"] == "f":
            if key not in declared_functions:
                found.append(Orphan("function", *key))
        elif key not in declared_relations:
            if row["relkind"] in ("i", "I"):
                found.append(Orphan("index", *key, f"on {row['owner']}"))
            else:
                rows_note = ""
                if row["relkind"] in ("r", "p"):
                    count = session.value(
                        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*key))
                    )
                    rows_note = f"{count} row(s)"
                kind = _RELKIND_NAMES[row["relkind"]]
                if key in timescale.aggregates:
                    kind = "continuous aggregate"
                found.append(Orphan(kind, *key, rows_note))
    return found
