"""Reading the live catalog beyond the run's snapshot (live/snapshot.py): rows, what the
server offers, scratch tables, and objects checked for existence only."""

from __future__ import annotations

from psycopg import sql

from platform_assets.live.session import Session
from platform_assets.live.snapshot import LiveColumn
from platform_assets.model.declarations import CatalogObject
from platform_assets.model.objects import ObjectKind, SchemaObject

TABLE_RELKINDS = ("r", "p")


def extension_available(session: Session, name: str) -> bool:
    return bool(session.value("SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,)))


def temporary_columns(session: Session, table: str) -> list[LiveColumn]:
    """The columns of a temporary table of this session (a scratch copy the snapshot
    never holds), in order."""
    relation = sql.SQL("pg_temp.{}").format(sql.Identifier(table))
    rows = session.rows(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity, "
        "a.attgenerated::text AS generated "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (relation.as_string(session.conn),),
    )
    return [
        LiveColumn(
            r["attname"], r["type"], r["attnotnull"], r["default"], r["identity"], r["generated"]
        )
        for r in rows
    ]


def row_count(session: Session, schema: str, table: str) -> int:
    return session.value(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))


# Objects the platform checks for existence only (model.objects.CATALOG_KINDS): one
# query per kind, with %(schema)s, %(name)s, %(relation)s and %(identity)s (a list).
_IN_SCHEMA = (
    "SELECT 1 FROM {catalog} x JOIN pg_namespace n ON n.oid = x.{prefix}namespace "
    "WHERE n.nspname = %(schema)s AND x.{prefix}name = %(name)s"
)
_ON_RELATION = (
    "SELECT 1 FROM {catalog} x JOIN pg_class c ON c.oid = x.{relation} "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(relation)s AND x.{column} = %(name)s"
)
_GLOBAL = "SELECT 1 FROM {catalog} WHERE {column} = %(name)s"
EXISTENCE_QUERIES: dict[ObjectKind, str] = {
    ObjectKind.AGGREGATE: _IN_SCHEMA.format(catalog="pg_proc", prefix="pro")
    + " AND x.prokind = 'a'",
    ObjectKind.OPERATOR: _IN_SCHEMA.format(catalog="pg_operator", prefix="opr"),
    ObjectKind.OPERATOR_CLASS: _IN_SCHEMA.format(catalog="pg_opclass", prefix="opc"),
    ObjectKind.OPERATOR_FAMILY: _IN_SCHEMA.format(catalog="pg_opfamily", prefix="opf"),
    ObjectKind.COLLATION: _IN_SCHEMA.format(catalog="pg_collation", prefix="coll"),
    ObjectKind.CONVERSION: _IN_SCHEMA.format(catalog="pg_conversion", prefix="con"),
    ObjectKind.TEXT_SEARCH_CONFIGURATION: _IN_SCHEMA.format(catalog="pg_ts_config", prefix="cfg"),
    ObjectKind.TEXT_SEARCH_DICTIONARY: _IN_SCHEMA.format(catalog="pg_ts_dict", prefix="dict"),
    ObjectKind.TEXT_SEARCH_PARSER: _IN_SCHEMA.format(catalog="pg_ts_parser", prefix="prs"),
    ObjectKind.TEXT_SEARCH_TEMPLATE: _IN_SCHEMA.format(catalog="pg_ts_template", prefix="tmpl"),
    ObjectKind.STATISTICS: _IN_SCHEMA.format(catalog="pg_statistic_ext", prefix="stx"),
    ObjectKind.FOREIGN_TABLE: _IN_SCHEMA.format(catalog="pg_class", prefix="rel")
    + " AND x.relkind = 'f'",
    ObjectKind.RULE: _ON_RELATION.format(
        catalog="pg_rewrite", relation="ev_class", column="rulename"
    ),
    ObjectKind.POLICY: _ON_RELATION.format(
        catalog="pg_policy", relation="polrelid", column="polname"
    ),
    ObjectKind.EVENT_TRIGGER: _GLOBAL.format(catalog="pg_event_trigger", column="evtname"),
    ObjectKind.PUBLICATION: _GLOBAL.format(catalog="pg_publication", column="pubname"),
    ObjectKind.SUBSCRIPTION: _GLOBAL.format(catalog="pg_subscription", column="subname")
    + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    ObjectKind.FOREIGN_DATA_WRAPPER: _GLOBAL.format(
        catalog="pg_foreign_data_wrapper", column="fdwname"
    ),
    ObjectKind.SERVER: _GLOBAL.format(catalog="pg_foreign_server", column="srvname"),
    ObjectKind.LANGUAGE: _GLOBAL.format(catalog="pg_language", column="lanname"),
    ObjectKind.ACCESS_METHOD: _GLOBAL.format(catalog="pg_am", column="amname"),
    ObjectKind.LARGE_OBJECT: "SELECT 1 FROM pg_largeobject_metadata WHERE oid = %(name)s::oid",
    ObjectKind.CAST: "SELECT 1 FROM pg_cast "
    "WHERE castsource = to_regtype((%(identity)s::text[])[1]) "
    "AND casttarget = to_regtype((%(identity)s::text[])[2])",
    ObjectKind.USER_MAPPING: "SELECT 1 FROM pg_user_mappings "
    "WHERE usename = (%(identity)s::text[])[1] AND srvname = (%(identity)s::text[])[2]",
    ObjectKind.TRANSFORM: "SELECT 1 FROM pg_transform "
    "WHERE trftype = to_regtype((%(identity)s::text[])[1])"
    " AND trflang = (SELECT oid FROM pg_language WHERE lanname = (%(identity)s::text[])[2])",
    # identity: role ('' for the current one), schema ('' for all), object kind word.
    ObjectKind.DEFAULT_PRIVILEGES: "SELECT 1 FROM pg_default_acl d "
    "WHERE d.defaclrole = (SELECT oid FROM pg_roles "
    "WHERE rolname = coalesce(nullif((%(identity)s::text[])[1], ''), current_user)) "
    "AND d.defaclnamespace = coalesce((SELECT oid FROM pg_namespace "
    "WHERE nspname = nullif((%(identity)s::text[])[2], '')), 0) "
    "AND d.defaclobjtype = CASE lower((%(identity)s::text[])[3]) WHEN 'tables' THEN 'r' "
    "WHEN 'sequences' THEN 'S' WHEN 'functions' THEN 'f' WHEN 'routines' THEN 'f' "
    "WHEN 'types' THEN 'T' WHEN 'schemas' THEN 'n' END",
}


def catalog_object_exists(session: Session, obj: SchemaObject) -> bool:
    """Whether an object checked for existence only is in the catalog."""
    identity = obj.declared(CatalogObject).identity
    params = {
        "schema": obj.schema,
        "name": obj.name,
        "relation": obj.relation,
        "identity": list(identity),  # type: ignore[arg-type]
    }
    return bool(session.value(EXISTENCE_QUERIES[obj.kind], params))


def holds_rows(session: Session, schema: str, table: str) -> bool:
    """Whether the table has a row (one index probe or page read, not a count). A
    materialized view created WITH NO DATA has none (and refuses to be read)."""
    live = session.snapshot.relation(schema, table)
    if live is not None and not live.populated:
        return False
    relation = sql.Identifier(schema, table)
    return bool(session.value(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(relation)))
