"""Who owns an object, who may use it and its comments, as the catalog holds them.

Grants, ownership and comments change nothing else a diff could read, so an
existing object's GRANT, REVOKE and COMMENT statements are compared with this
state, or tried in a savepoint and kept only where they change it (execute/access.py).
The state is the run's catalog snapshot (live/snapshot.py), read for all objects at once.
"""

from __future__ import annotations

from platform_assets.live.catalog import catalog_object_access
from platform_assets.live.session import Session
from platform_assets.model.objects import ObjectKind, SchemaObject

# The snapshot's catalog of each kind's access state.
STATE_CATALOGS: dict[ObjectKind, str] = {
    ObjectKind.TABLE: "relation_access",
    ObjectKind.FOREIGN_TABLE: "relation_access",
    ObjectKind.VIEW: "relation_access",
    ObjectKind.MATERIALIZED_VIEW: "relation_access",
    ObjectKind.CONTINUOUS_AGGREGATE: "relation_access",
    ObjectKind.SEQUENCE: "relation_access",
    ObjectKind.INDEX: "relation_access",
    ObjectKind.FUNCTION: "routine_access",
    ObjectKind.AGGREGATE: "routine_access",
    ObjectKind.TYPE: "type_access",
    ObjectKind.DOMAIN: "type_access",
    ObjectKind.SCHEMA: "schema_access",
}
# Large objects have no schema and are few: read one by one.
_LARGE_OBJECT = (
    "SELECT pg_get_userbyid(lomowner) AS owner, lomacl::text AS acl, "
    "obj_description(oid, 'pg_largeobject') AS comment FROM pg_largeobject_metadata "
    "WHERE oid = %(name)s::oid"
)


def access_state(session: Session, obj: SchemaObject, *, now: bool = False) -> dict | None:
    """The object's owner, privileges and comments ({} when it is absent, None for kinds
    with none). `now`: read from the server, not the snapshot (inside a savepoint)."""
    if obj.kind == ObjectKind.LARGE_OBJECT:
        rows = session.rows(_LARGE_OBJECT, {"name": obj.name})
        return rows[0] if rows else {}
    catalog = STATE_CATALOGS.get(obj.kind)
    if catalog is None:  # a kind checked for existence only: few, read one by one
        return catalog_object_access(session, obj)
    key = (obj.name, obj.name) if obj.kind == ObjectKind.SCHEMA else (obj.schema, obj.name)
    read = session.snapshot.access_now if now else session.snapshot.access
    return read(catalog, key) or {}
