"""Who owns an object, who may use it and its comments, as the catalog holds them.

Grants, ownership and comments change nothing else a diff could read, so an
existing object's GRANT, REVOKE and COMMENT statements are tried in a savepoint
and kept only where they change this state (execute/access.py).
"""

from __future__ import annotations

from platform_assets.live.session import Session
from platform_assets.model.objects import ObjectKind, SchemaObject

# A relation with its columns' privileges and comments.
_RELATION = (
    "SELECT pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl, "
    "obj_description(c.oid, 'pg_class') AS comment, "
    "(SELECT array_agg(ARRAY[a.attname::text, a.attacl::text, col_description(c.oid, a.attnum)] "
    "ORDER BY a.attnum) FROM pg_attribute a "
    "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)::text AS columns "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(name)s"
)
# Every function of the name (its overloads are one object).
_ROUTINES = (
    "SELECT array_agg(ARRAY[p.oid::regprocedure::text, pg_get_userbyid(p.proowner), "
    "p.proacl::text, obj_description(p.oid, 'pg_proc')] ORDER BY p.oid::regprocedure::text)"
    "::text AS routines, min(pg_get_userbyid(p.proowner)) AS owner "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = %(schema)s AND p.proname = %(name)s"
)
_TYPE = (
    "SELECT pg_get_userbyid(t.typowner) AS owner, t.typacl::text AS acl, "
    "obj_description(t.oid, 'pg_type') AS comment "
    "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = %(schema)s AND t.typname = %(name)s"
)
_SCHEMA = (
    "SELECT pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl, "
    "obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace "
    "WHERE nspname = %(name)s"
)
_LARGE_OBJECT = (
    "SELECT pg_get_userbyid(lomowner) AS owner, lomacl::text AS acl, "
    "obj_description(oid, 'pg_largeobject') AS comment FROM pg_largeobject_metadata "
    "WHERE oid = %(name)s::oid"
)
STATE_QUERIES: dict[ObjectKind, str] = {
    ObjectKind.TABLE: _RELATION,
    ObjectKind.FOREIGN_TABLE: _RELATION,
    ObjectKind.VIEW: _RELATION,
    ObjectKind.MATERIALIZED_VIEW: _RELATION,
    ObjectKind.CONTINUOUS_AGGREGATE: _RELATION,
    ObjectKind.SEQUENCE: _RELATION,
    ObjectKind.INDEX: _RELATION,
    ObjectKind.FUNCTION: _ROUTINES,
    ObjectKind.AGGREGATE: _ROUTINES,
    ObjectKind.TYPE: _TYPE,
    ObjectKind.DOMAIN: _TYPE,
    ObjectKind.SCHEMA: _SCHEMA,
    ObjectKind.LARGE_OBJECT: _LARGE_OBJECT,
}


def access_state(session: Session, obj: SchemaObject) -> dict | None:
    """The object's owner, privileges and comments (None for kinds not read here)."""
    query = STATE_QUERIES.get(obj.kind)
    if query is None:
        return None
    rows = session.rows(query, {"schema": obj.schema, "name": obj.name})
    return rows[0] if rows else {}
