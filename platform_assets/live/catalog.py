"""Reading the live catalog beyond the run's snapshot (live/snapshot.py): rows, what the
server offers, scratch tables, and objects checked for existence only."""

from __future__ import annotations

from psycopg import sql

from platform_assets.live.session import Session
from platform_assets.live.snapshot import LiveColumn
from platform_assets.model.declarations import CatalogObject
from platform_assets.model.objects import ObjectKind, SchemaObject

TABLE_RELKINDS = ("r", "p")


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


# Objects the platform checks for existence only (model.objects.CATALOG_KINDS): the row
# of each kind's catalog (`x`) an object is, with %(schema)s, %(name)s, %(relation)s and
# %(identity)s (a list).
_IN_SCHEMA = (
    "FROM {catalog} x JOIN pg_namespace n ON n.oid = x.{prefix}namespace "
    "WHERE n.nspname = %(schema)s AND x.{prefix}name = %(name)s"
)
_ON_RELATION = (
    "FROM {catalog} x JOIN pg_class c ON c.oid = x.{relation} "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(schema)s AND c.relname = %(relation)s AND x.{column} = %(name)s"
)
_GLOBAL = "FROM {catalog} x WHERE x.{column} = %(name)s"
_CATALOG_ROWS: dict[ObjectKind, str] = {
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
    + " AND x.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    ObjectKind.FOREIGN_DATA_WRAPPER: _GLOBAL.format(
        catalog="pg_foreign_data_wrapper", column="fdwname"
    ),
    ObjectKind.SERVER: _GLOBAL.format(catalog="pg_foreign_server", column="srvname"),
    ObjectKind.LANGUAGE: _GLOBAL.format(catalog="pg_language", column="lanname"),
    ObjectKind.ACCESS_METHOD: _GLOBAL.format(catalog="pg_am", column="amname"),
    ObjectKind.LARGE_OBJECT: "FROM pg_largeobject_metadata x WHERE x.oid = %(name)s::oid",
    ObjectKind.CAST: "FROM pg_cast x "
    "WHERE x.castsource = to_regtype((%(identity)s::text[])[1]) "
    "AND x.casttarget = to_regtype((%(identity)s::text[])[2])",
    ObjectKind.USER_MAPPING: "FROM pg_user_mappings x "
    "WHERE x.usename = (%(identity)s::text[])[1] AND x.srvname = (%(identity)s::text[])[2]",
    ObjectKind.TRANSFORM: "FROM pg_transform x "
    "WHERE x.trftype = to_regtype((%(identity)s::text[])[1])"
    " AND x.trflang = (SELECT oid FROM pg_language WHERE lanname = (%(identity)s::text[])[2])",
    # identity: role ('' for the current one), schema ('' for all), object kind word.
    ObjectKind.DEFAULT_PRIVILEGES: "FROM pg_default_acl x "
    "WHERE x.defaclrole = (SELECT oid FROM pg_roles "
    "WHERE rolname = coalesce(nullif((%(identity)s::text[])[1], ''), current_user)) "
    "AND x.defaclnamespace = coalesce((SELECT oid FROM pg_namespace "
    "WHERE nspname = nullif((%(identity)s::text[])[2], '')), 0) "
    "AND x.defaclobjtype = CASE lower((%(identity)s::text[])[3]) WHEN 'tables' THEN 'r' "
    "WHEN 'sequences' THEN 'S' WHEN 'functions' THEN 'f' WHEN 'routines' THEN 'f' "
    "WHEN 'types' THEN 'T' WHEN 'schemas' THEN 'n' END",
}
EXISTENCE_QUERIES: dict[ObjectKind, str] = {
    kind: f"SELECT 1 {rows}" for kind, rows in _CATALOG_ROWS.items()
}
# Of the kinds an OWNER TO, GRANT or COMMENT ON completes (those with a state of their
# own elsewhere aside): (catalog, owner column, privileges column); None where it has none.
_ACCESS_COLUMNS: dict[ObjectKind, tuple[str, str | None, str | None]] = {
    ObjectKind.OPERATOR: ("pg_operator", "oprowner", None),
    ObjectKind.OPERATOR_CLASS: ("pg_opclass", "opcowner", None),
    ObjectKind.OPERATOR_FAMILY: ("pg_opfamily", "opfowner", None),
    ObjectKind.COLLATION: ("pg_collation", "collowner", None),
    ObjectKind.CONVERSION: ("pg_conversion", "conowner", None),
    ObjectKind.TEXT_SEARCH_CONFIGURATION: ("pg_ts_config", "cfgowner", None),
    ObjectKind.TEXT_SEARCH_DICTIONARY: ("pg_ts_dict", "dictowner", None),
    ObjectKind.TEXT_SEARCH_PARSER: ("pg_ts_parser", None, None),
    ObjectKind.TEXT_SEARCH_TEMPLATE: ("pg_ts_template", None, None),
    ObjectKind.STATISTICS: ("pg_statistic_ext", "stxowner", None),
    ObjectKind.RULE: ("pg_rewrite", None, None),
    ObjectKind.POLICY: ("pg_policy", None, None),
    ObjectKind.EVENT_TRIGGER: ("pg_event_trigger", "evtowner", None),
    ObjectKind.PUBLICATION: ("pg_publication", "pubowner", None),
    ObjectKind.SUBSCRIPTION: ("pg_subscription", "subowner", None),
    ObjectKind.FOREIGN_DATA_WRAPPER: ("pg_foreign_data_wrapper", "fdwowner", "fdwacl"),
    ObjectKind.SERVER: ("pg_foreign_server", "srvowner", "srvacl"),
    ObjectKind.LANGUAGE: ("pg_language", "lanowner", "lanacl"),
    ObjectKind.ACCESS_METHOD: ("pg_am", None, None),
    ObjectKind.CAST: ("pg_cast", None, None),
    ObjectKind.TRANSFORM: ("pg_transform", None, None),
}
# Catalogs shared by the cluster's databases keep their comments in pg_shdescription.
_SHARED_CATALOGS = frozenset({"pg_subscription"})


def _access_query(kind: ObjectKind) -> str:
    catalog, owner, privileges = _ACCESS_COLUMNS[kind]
    describe = "shobj_description" if catalog in _SHARED_CATALOGS else "obj_description"
    return (
        f"SELECT {f'pg_get_userbyid(x.{owner})' if owner else 'NULL'} AS owner, "
        f"{f'x.{privileges}::text' if privileges else 'NULL'} AS acl, "
        f"{describe}(x.oid, '{catalog}') AS comment {_CATALOG_ROWS[kind]}"
    )


ACCESS_QUERIES: dict[ObjectKind, str] = {kind: _access_query(kind) for kind in _ACCESS_COLUMNS}


def _catalog_parameters(obj: SchemaObject) -> dict[str, object]:
    return {
        "schema": obj.schema,
        "name": obj.name,
        "relation": obj.relation,
        "identity": list(obj.declared(CatalogObject).identity),
    }


def catalog_object_exists(session: Session, obj: SchemaObject) -> bool:
    """Whether an object checked for existence only is in the catalog."""
    return bool(session.value(EXISTENCE_QUERIES[obj.kind], _catalog_parameters(obj)))


def catalog_object_access(session: Session, obj: SchemaObject) -> dict | None:
    """The owner, privileges and comment of an object checked for existence only ({}
    when it is absent; None for a kind with none of them), read from the server."""
    query = ACCESS_QUERIES.get(obj.kind)
    if query is None:
        return None
    rows = session.rows(query, _catalog_parameters(obj))
    return rows[0] if rows else {}


def holds_rows(session: Session, schema: str, table: str) -> bool:
    """Whether the table has a row (one index probe or page read, not a count). A
    materialized view created WITH NO DATA has none (and refuses to be read)."""
    live = session.snapshot.relation(schema, table)
    if live is not None and not live.populated:
        return False
    relation = sql.Identifier(schema, table)
    return bool(session.value(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(relation)))
