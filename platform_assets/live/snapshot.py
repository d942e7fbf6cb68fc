"""One catalog snapshot per run: the live state of every object, read in a few queries.

A run reads pg_catalog once, for its schemas, in one query per catalog (relations,
columns, constraints, indexes, triggers, partitions, partitioning, functions, types,
owners, grants and comments, extensions, schemas, the extensions the server offers,
and TimescaleDB's hypertables, columnstore settings, jobs and continuous aggregates)
and answers every "what is there" from memory. A statement the run executes makes the
object being applied (and the relation it belongs to) stale: its entries are read
again, alone, before anything reads them, so dependents see the new state. Whatever
the snapshot did not see since the last change (a name that was absent) is asked
again, so an object a statement made as a side effect (a constraint's index, a
serial's sequence) is never reported missing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from psycopg import sql

if TYPE_CHECKING:
    from platform_assets.live.session import Session

Key = tuple[str, str]  # (schema, name)
# One entry a reader looked at: (search_path, catalog, schema, name); the extensions,
# available extensions and schemas as catalog "extensions" / "available_extensions" /
# "schemas" with schema "".
Read = tuple[tuple[str, ...], str, str, str]

# Schemas no declaration lives in: the server's and TimescaleDB's internals.
_SYSTEM = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"
    " AND n.nspname !~ '^_?timescaledb'"
)


@dataclass(frozen=True)
class LiveColumn:
    """A column as the server has it (pg_attribute, types and defaults as it renders them)."""

    name: str
    type: str
    not_null: bool
    default: str | None  # or a generated column's expression
    identity: str  # "a" GENERATED ALWAYS, "d" BY DEFAULT, "" none
    generated: str  # "s" a stored generated column, "" none

    @property
    def required(self) -> bool:
        """NOT NULL with no default, identity or generated value: a row must give it."""
        return self.not_null and self.default is None and not self.identity and not self.generated


@dataclass(frozen=True)
class LiveConstraint:
    name: str
    contype: str
    definition: str
    expression: str | None
    columns: tuple[str, ...]  # sorted
    referenced: str | None
    validated: bool
    local: bool


@dataclass(frozen=True)
class IndexDefinition:
    """An index as pg_index has it: its table, pg_get_indexdef and validity."""

    table: str
    definition: str
    valid: bool


@dataclass(frozen=True)
class LiveRelation:
    """A pg_class row."""

    relkind: str
    populated: bool
    view_definition: str | None  # pg_get_viewdef of a view or materialized view
    partition_key: tuple[str, str] | None  # (column, type) of a single-column RANGE


@dataclass(frozen=True)
class Partitioning:
    """A partitioned table's pg_partitioned_table row, and its partitions left pending."""

    has_default: bool
    pending: tuple[str, ...]  # detach pending (an interrupted DETACH ... CONCURRENTLY)


# Each query yields rows with "schema" and "name" (the key) and has a {where} over the
# (schema, name) columns; `_CATALOGS` names the column of the name.
_RELATIONS = """
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
       c.relispopulated AS populated,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition,
       (SELECT ARRAY[a.attname::text, format_type(a.atttypid, a.atttypmod)]
        FROM pg_partitioned_table p
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partrelid = c.oid AND p.partstrat = 'r' AND p.partnatts = 1) AS partition_key
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {where}
"""
_COLUMNS = """
SELECT n.nspname::text AS schema, c.relname::text AS name, a.attname::text AS column,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity,
       a.attgenerated::text AS generated
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  AND {where}
ORDER BY n.nspname, c.relname, a.attnum
"""
_CONSTRAINTS = """
SELECT n.nspname::text AS schema, c.relname::text AS name, con.conname::text AS conname,
       con.contype::text AS contype, pg_get_constraintdef(con.oid) AS definition,
       pg_get_expr(con.conbin, con.conrelid) AS expression,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) k JOIN pg_attribute a
             ON a.attrelid = con.conrelid AND a.attnum = k ORDER BY 1) AS columns,
       (SELECT r.relname::text FROM pg_class r WHERE r.oid = con.confrelid) AS referenced,
       con.convalidated AS validated, con.conislocal AS local
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {where}
"""
_INDEXES = """
SELECT n.nspname::text AS schema, i.relname::text AS name, t.relname::text AS table,
       pg_get_indexdef(i.oid) AS definition, x.indisvalid AS valid
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace WHERE {where}
"""
_TRIGGERS = """
SELECT n.nspname::text AS schema, c.relname::text AS name, t.tgname::text AS trigger,
       pg_get_triggerdef(t.oid) AS definition
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND {where}
"""
_PARTITIONS = """
SELECT n.nspname::text AS schema, p.relname::text AS name, c.relname::text AS partition,
       pg_get_partition_constraintdef(c.oid) AS bound
FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_class p ON p.oid = h.inhparent
JOIN pg_namespace n ON n.oid = p.relnamespace
WHERE pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT' AND {where}
"""
# Per partitioned table: whether it has a DEFAULT partition, and the partitions an
# interrupted DETACH ... CONCURRENTLY left pending (PostgreSQL 14+; read through to_jsonb,
# so older servers, which lack the column, find none).
_PARTITIONING = """
SELECT n.nspname::text AS schema, c.relname::text AS name, pt.partdefid <> 0 AS has_default,
       ARRAY(SELECT ch.relname::text FROM pg_inherits h JOIN pg_class ch ON ch.oid = h.inhrelid
             WHERE h.inhparent = c.oid AND (to_jsonb(h) ->> 'inhdetachpending')::boolean
             ORDER BY 1) AS pending
FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {where}
"""
_FUNCTIONS = """
SELECT n.nspname::text AS schema, p.proname::text AS name, p.prosrc AS source
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {where}
"""
_TYPES = """
SELECT n.nspname::text AS schema, t.typname::text AS name, t.typtype::text AS typtype
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {where}
"""
# Who owns an object, who may use it and its comments (live/access.py), per kind.
_RELATION_ACCESS = """
SELECT n.nspname::text AS schema, c.relname::text AS name,
       pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl,
       obj_description(c.oid, 'pg_class') AS comment,
       -- Only where there can be any: an index's columns take no grant or comment, and
       -- most relations have no ACL (these subqueries were most of the query's time).
       CASE WHEN c.relkind NOT IN ('i', 'I') THEN
         (SELECT jsonb_object_agg(a.attname, jsonb_build_array(a.attacl::text,
                                                               col_description(c.oid, a.attnum)))
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
       END AS columns,
       -- [grantee (null: PUBLIC), privilege, grantable, grantor] of each granted privilege
       CASE WHEN c.relacl IS NOT NULL THEN
         (SELECT jsonb_agg(jsonb_build_array(
                     CASE WHEN x.grantee = 0 THEN NULL ELSE pg_get_userbyid(x.grantee) END,
                     x.privilege_type, x.is_grantable, pg_get_userbyid(x.grantor)))
          FROM aclexplode(c.relacl) x)
       END AS privileges
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {where}
"""
_ROUTINE_ACCESS = """
SELECT n.nspname::text AS schema, p.proname::text AS name,
       p.oid::regprocedure::text AS signature, pg_get_userbyid(p.proowner) AS owner,
       p.proacl::text AS acl, obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {where}
"""
_TYPE_ACCESS = """
SELECT n.nspname::text AS schema, t.typname::text AS name,
       pg_get_userbyid(t.typowner) AS owner, t.typacl::text AS acl,
       obj_description(t.oid, 'pg_type') AS comment
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {where}
"""
_SCHEMA_ACCESS = """
SELECT n.nspname::text AS schema, n.nspname::text AS name,
       pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text AS acl,
       obj_description(n.oid, 'pg_namespace') AS comment
FROM pg_namespace n WHERE {where}
"""
ACCESS_CATALOGS = ("relation_access", "routine_access", "type_access", "schema_access")

# TimescaleDB's own catalog, asked for only where the extension is installed, kept as the
# views' rows (live/timescale_catalog.py makes them into its types). Keyed as the views
# name things: a hypertable, the relation a policy job acts on (the continuous
# aggregate's view for its policies, on TimescaleDB 2.x), a job's procedure, an
# aggregate's view.
_HYPERTABLES = """
SELECT n.nspname::text AS schema, h.hypertable_name::text AS name, h.num_chunks,
       h.compression_enabled, d.dimension_number, d.column_name::text AS column_name,
       d.time_interval::text AS time_interval, d.integer_interval,
       d.integer_now_func::text AS integer_now_func, d.num_partitions
FROM timescaledb_information.hypertables h
JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name)
JOIN pg_namespace n ON n.nspname = h.hypertable_schema
WHERE {where}
ORDER BY d.dimension_number
"""
# The settings view's columns vary between versions: read whole, as one JSON value.
_COLUMNSTORES = """
SELECT n.nspname::text AS schema, c.relname::text AS name, s.segmentby, s.orderby,
       to_jsonb(s) AS settings,
       (SELECT count(*) FROM timescaledb_information.chunks ch
        WHERE ch.hypertable_schema = n.nspname AND ch.hypertable_name = c.relname
          AND ch.is_compressed) AS compressed
FROM timescaledb_information.hypertable_compression_settings s
JOIN pg_class c ON c.oid = s.hypertable JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN timescaledb_information.hypertables h
  ON h.hypertable_schema = n.nspname AND h.hypertable_name = c.relname AND h.compression_enabled
WHERE {where}
"""
_JOB_COLUMNS = """j.proc_name::text AS proc_name, j.job_id, j.config,
       j.schedule_interval::text AS schedule_interval, j.scheduled,
       j.max_runtime::text AS max_runtime, j.max_retries, j.retry_period::text AS retry_period"""
_POLICY_JOBS = f"""
SELECT n.nspname::text AS schema, j.hypertable_name::text AS name, {_JOB_COLUMNS}
FROM timescaledb_information.jobs j JOIN pg_namespace n ON n.nspname = j.hypertable_schema
WHERE {{where}}
ORDER BY j.job_id
"""
_PROCEDURE_JOBS = f"""
SELECT n.nspname::text AS schema, j.proc_name::text AS name, {_JOB_COLUMNS}
FROM timescaledb_information.jobs j JOIN pg_namespace n ON n.nspname = j.proc_schema
WHERE {{where}}
ORDER BY j.job_id
"""
_CONTINUOUS_AGGREGATES = """
SELECT n.nspname::text AS schema, ca.view_name::text AS name, ca.view_definition
FROM timescaledb_information.continuous_aggregates ca
JOIN pg_namespace n ON n.nspname = ca.view_schema
WHERE {where}
"""
TIMESCALE_CATALOGS = (
    "hypertables",
    "columnstores",
    "policy_jobs",
    "procedure_jobs",
    "continuous_aggregates",
)

_CATALOGS = {  # catalog -> its query, and the column of the name its {where} filters on
    "relations": (_RELATIONS, "c.relname"),
    "columns": (_COLUMNS, "c.relname"),
    "constraints": (_CONSTRAINTS, "c.relname"),
    "indexes": (_INDEXES, "i.relname"),
    "triggers": (_TRIGGERS, "c.relname"),
    "partitions": (_PARTITIONS, "p.relname"),
    "partitioning": (_PARTITIONING, "c.relname"),
    "functions": (_FUNCTIONS, "p.proname"),
    "types": (_TYPES, "t.typname"),
    "relation_access": (_RELATION_ACCESS, "c.relname"),
    "routine_access": (_ROUTINE_ACCESS, "p.proname"),
    "type_access": (_TYPE_ACCESS, "t.typname"),
    "schema_access": (_SCHEMA_ACCESS, "n.nspname"),
    "hypertables": (_HYPERTABLES, "h.hypertable_name"),
    "columnstores": (_COLUMNSTORES, "c.relname"),
    "policy_jobs": (_POLICY_JOBS, "j.hypertable_name"),
    "procedure_jobs": (_PROCEDURE_JOBS, "j.proc_name"),
    "continuous_aggregates": (_CONTINUOUS_AGGREGATES, "ca.view_name"),
}


def _grouped(rows: list[dict]) -> dict[Key, list[dict]]:
    by_key: dict[Key, list[dict]] = defaultdict(list)
    for row in rows:
        by_key[(row["schema"], row["name"])].append(row)
    return by_key


def _own_columns(row: dict) -> dict:
    """A row without its key."""
    return {column: value for column, value in row.items() if column not in ("schema", "name")}


def _entries(catalog: str, rows: list[dict]) -> dict[Key, Any]:
    """One catalog's rows as its entries, by (schema, name)."""
    grouped = _grouped(rows)
    if catalog == "relations":
        return {
            key: LiveRelation(
                r["relkind"],
                r["populated"],
                r["view_definition"],
                (r["partition_key"][0], r["partition_key"][1]) if r["partition_key"] else None,
            )
            for key, (r,) in grouped.items()
        }
    if catalog == "columns":
        return {
            key: [
                LiveColumn(
                    r["column"],
                    r["type"],
                    r["not_null"],
                    r["default"],
                    r["identity"],
                    r["generated"],
                )
                for r in found
            ]
            for key, found in grouped.items()
        }
    if catalog == "constraints":
        return {
            key: [
                LiveConstraint(
                    r["conname"],
                    r["contype"],
                    r["definition"],
                    r["expression"],
                    tuple(r["columns"]),
                    r["referenced"],
                    r["validated"],
                    r["local"],
                )
                for r in found
            ]
            for key, found in grouped.items()
        }
    if catalog == "indexes":
        return {
            key: IndexDefinition(r["table"], r["definition"], r["valid"])
            for key, (r,) in grouped.items()
        }
    if catalog == "triggers":
        return {
            key: {r["trigger"]: r["definition"] for r in found} for key, found in grouped.items()
        }
    if catalog == "partitions":
        return {key: {r["partition"]: r["bound"] for r in found} for key, found in grouped.items()}
    if catalog == "partitioning":
        return {
            key: Partitioning(r["has_default"], tuple(r["pending"]))
            for key, (r,) in grouped.items()
        }
    if catalog == "functions":
        return {key: [r["source"] for r in found] for key, found in grouped.items()}
    if catalog == "routine_access":  # a function's overloads are one object
        return {
            key: {
                "owner": min(r["owner"] for r in found),
                "routines": sorted(
                    (r["signature"], r["owner"], r["acl"], r["comment"]) for r in found
                ),
            }
            for key, found in grouped.items()
        }
    if catalog in TIMESCALE_CATALOGS:
        return {key: [_own_columns(r) for r in found] for key, found in grouped.items()}
    if catalog in ACCESS_CATALOGS:
        return {key: _own_columns(r) for key, (r,) in grouped.items()}
    assert catalog == "types"
    return {key: r["typtype"] for key, (r,) in grouped.items()}


_EXTENSIONS = "SELECT extname::text AS name, extversion AS version FROM pg_extension"
_SCHEMAS = "SELECT nspname::text AS name FROM pg_namespace"


class CatalogSnapshot:
    """The live catalog of a run's schemas, read once and kept current under its changes.

    Each catalog is read whole when first asked for (one query), then entry by entry
    where a change made one stale."""

    def __init__(
        self,
        session: Session,
        schemas: list[str] | None,
        shared: _Shared,
        search_path: tuple[str, ...] = (),
    ):
        self.session = session
        self.search_path = search_path
        self.schemas = schemas  # None: every schema but the system's
        self.shared = shared
        self._data: dict[str, dict[Key, Any]] = {catalog: {} for catalog in _CATALOGS}
        # Bumped by every change: a name found absent before it is asked again.
        self.epoch = 0
        self._read_whole: dict[str, int] = {}  # catalog -> the epoch it was read at
        self._read: dict[tuple[str, Key], int] = {}  # the epoch an entry was read at alone
        self._stale: set[tuple[str, Key]] = set()

    # -- reading --------------------------------------------------------------------

    def relation(self, schema: str, name: str) -> LiveRelation | None:
        return self._get("relations", (schema, name))

    def relkind(self, schema: str, name: str) -> str | None:
        """pg_class.relkind, or None when there is no such relation."""
        relation = self.relation(schema, name)
        return relation.relkind if relation else None

    def columns(self, schema: str, name: str) -> list[LiveColumn]:
        """The columns of a relation in order, none when it does not exist."""
        return list(self._get("columns", (schema, name)) or [])

    def constraints(self, schema: str, table: str) -> list[LiveConstraint]:
        return list(self._get("constraints", (schema, table)) or [])

    def constraint_names(self, schema: str, table: str) -> set[str]:
        return {constraint.name for constraint in self.constraints(schema, table)}

    def index(self, schema: str, name: str) -> IndexDefinition | None:
        return self._get("indexes", (schema, name))

    def trigger_definition(self, schema: str, table: str, name: str) -> str | None:
        return (self._get("triggers", (schema, table)) or {}).get(name)

    def partitions(self, schema: str, table: str) -> dict[str, str]:
        """Partition -> its bound (pg_get_partition_constraintdef), DEFAULT left out."""
        return dict(self._get("partitions", (schema, table)) or {})

    def partition_key(self, schema: str, table: str) -> tuple[str, str] | None:
        """(column, type) a table is range-partitioned by, or None when it is not."""
        relation = self.relation(schema, table)
        return relation.partition_key if relation else None

    def partitioning(self, schema: str, table: str) -> Partitioning | None:
        """None for a table that is not partitioned."""
        return self._get("partitioning", (schema, table))

    def function_sources(self, schema: str, name: str) -> list[str]:
        """prosrc of every function of that name (one per overload)."""
        return list(self._get("functions", (schema, name)) or [])

    def type_kind(self, schema: str, name: str) -> str | None:
        """pg_type.typtype ('e' enum, 'd' domain, ...) of a type, or None."""
        return self._get("types", (schema, name))

    def timescale(self, catalog: str, schema: str, name: str) -> list[dict]:
        """TimescaleDB's rows of one hypertable, job target or aggregate (`catalog`: one
        of TIMESCALE_CATALOGS; the extension must be installed), none when it has none."""
        return list(self._get(catalog, (schema, name)) or [])

    def access(self, catalog: str, key: Key) -> dict | None:
        """An object's owner, privileges and comments (`catalog`: one of ACCESS_CATALOGS)."""
        return self._get(catalog, key)

    def access_now(self, catalog: str, key: Key) -> dict | None:
        """The same, read from the server now and not kept: inside a block that is rolled
        back, what it reads must not outlive it."""
        query, name_column = _CATALOGS[catalog]
        where = sql.SQL("n.nspname = %(schema)s AND {}::text = %(name)s").format(
            sql.SQL(name_column)
        )
        self._note(catalog, key)
        rows = self._rows(sql.SQL(query).format(where=where), {"schema": key[0], "name": key[1]})
        return _entries(catalog, rows).get(key)

    def extension_version(self, name: str) -> str | None:
        self._note("extensions", ("", name))
        return self._global(lambda: self.shared.extensions.get(name))

    def extension_available(self, name: str) -> bool:
        """Whether the server can create the extension (pg_available_extensions: the
        server's files, not a catalog a run changes, so read once)."""
        self._note("available_extensions", ("", name))
        shared = self.shared
        if shared.available is None:
            shared.available = {
                r["name"] for r in self._rows("SELECT name::text FROM pg_available_extensions")
            }
        return name in shared.available

    def schema_exists(self, name: str) -> bool:
        self._note("schemas", ("", name))
        return bool(self._global(lambda: name in self.shared.namespaces))

    def found(self, read: Read) -> object:
        """What a recorded read finds now, in a form equal whenever the entry is."""
        _, catalog, schema, name = read
        if catalog == "extensions":
            return self.extension_version(name)
        if catalog == "schemas":
            return self.schema_exists(name)
        if catalog == "available_extensions":
            return self.extension_available(name)
        value = self._get(catalog, (schema, name))
        if isinstance(value, dict):
            return sorted((key, repr(item)) for key, item in value.items())
        if isinstance(value, list) and catalog != "columns":  # rows in no set order
            return sorted(repr(item) for item in value)
        return repr(value)

    # -- keeping it current ---------------------------------------------------------

    def forget(self, keys: Iterable[Key]) -> None:
        """Objects a statement changed: read again, alone, when next asked for (with the
        indexes and partitions of a relation among them)."""
        keys = set(keys)
        if not keys:
            return
        for schema, name in list(keys):
            partitions = self._data["partitions"].get((schema, name), {})
            keys.update((schema, partition) for partition in partitions)
            keys.update(
                key
                for key, index in self._data["indexes"].items()
                if key[0] == schema and index.table == name
            )
        self._stale |= {(catalog, key) for catalog in _CATALOGS for key in keys}
        self.epoch += 1

    # -- loading --------------------------------------------------------------------

    def _note(self, catalog: str, key: Key) -> None:
        for reads in self.shared.recording:
            reads.add((self.search_path, catalog, key[0], key[1]))

    def _get(self, catalog: str, key: Key) -> Any:
        self._note(catalog, key)
        if catalog not in self._read_whole:
            self._load(catalog, None)
        if not self._trusted(catalog, key):
            self._load(catalog, [key])
        return self._data[catalog].get(key)

    def _trusted(self, catalog: str, key: Key) -> bool:
        if (catalog, key) in self._stale:
            return False
        if key in self._data[catalog]:
            return True  # only a statement on it (which makes it stale) changes it
        read = self._read.get((catalog, key), -1)
        if self.schemas is None or key[0] in self.schemas:
            read = max(read, self._read_whole[catalog])
        return read == self.epoch  # absent since the last change

    def _load(self, catalog: str, keys: list[Key] | None) -> None:
        """Read one catalog for `keys` (None: whole) and replace their entries."""
        query, name_column = _CATALOGS[catalog]
        params: dict[str, Any] | None = {"schemas": self.schemas} if self.schemas else None
        if keys is not None:
            params = {"key_schemas": [k[0] for k in keys], "key_names": [k[1] for k in keys]}
            where = sql.SQL(
                "(n.nspname::text, {}::text) IN "
                "(SELECT * FROM unnest(%(key_schemas)s::text[], %(key_names)s::text[]))"
            ).format(sql.SQL(name_column))
        elif self.schemas is None:
            where = sql.SQL(_SYSTEM)
        else:
            where = sql.SQL("n.nspname = ANY(%(schemas)s::text[])")
        entries = _entries(catalog, self._rows(sql.SQL(query).format(where=where), params))
        data = self._data[catalog]
        if keys is None:
            data.clear()
            self._read_whole[catalog] = self.epoch
            self._stale = {(c, k) for c, k in self._stale if c != catalog}
        else:
            for key in keys:
                data.pop(key, None)
                self._read[(catalog, key)] = self.epoch
                self._stale.discard((catalog, key))
        data.update(entries)

    def _global(self, answer: Callable[[], Any]) -> Any:
        """An answer from the extensions and schemas (the same under every search_path);
        one that finds nothing is asked again after a change."""
        shared = self.shared
        if shared.loaded_at is None or (not answer() and shared.loaded_at != shared.changes):
            shared.extensions = {r["name"]: r["version"] for r in self._rows(_EXTENSIONS)}
            shared.namespaces = {r["name"] for r in self._rows(_SCHEMAS)}
            shared.loaded_at = shared.changes
        return answer()

    def _rows(self, query: str | sql.Composable, params: dict | None = None) -> list[dict]:
        self.shared.queries += 1
        return self.session.rows(query, params)


@dataclass
class _Shared:
    """What a session's snapshots share: the extensions and schemas, and counts."""

    queries: int = 0  # catalog queries sent
    changes: int = 0  # statements that changed something
    extensions: dict[str, str] = field(default_factory=dict)
    namespaces: set[str] = field(default_factory=set)
    loaded_at: int | None = None  # `changes` when the extensions and schemas were read
    available: set[str] | None = None  # pg_available_extensions, once asked for
    recording: list[set[Read]] = field(default_factory=list)  # open `recording()` blocks


class Snapshots:
    """A session's snapshots, one per search_path it reads under: the server renders
    types, defaults and definitions relative to the search_path (a name on it is left
    unqualified), and each object is compared as its own file's search_path has it. The
    shipped systems use one search_path; generated and imported schemas a few."""

    def __init__(self, session: Session):
        self.session = session
        self.schemas: list[str] | None = None  # None: every schema but the system's
        self._by_path: dict[tuple[str, ...], CatalogSnapshot] = {}
        self._discarded: list[set[Key] | None] = []  # open `discarded()` blocks
        self._shared = _Shared()

    @property
    def queries(self) -> int:
        """Catalog queries the snapshots sent (what a no-op run costs)."""
        return self._shared.queries

    def limit_to(self, schemas: Collection[str]) -> None:
        """Read only these schemas (a graph's) in one go; others are read name by name."""
        self.schemas = sorted(schemas)
        self._by_path.clear()

    def under(self, search_path: tuple[str, ...]) -> CatalogSnapshot:
        snapshot = self._by_path.get(search_path)
        if snapshot is None:
            snapshot = self._by_path[search_path] = CatalogSnapshot(
                self.session, self.schemas, self._shared, search_path
            )
        return snapshot

    @contextmanager
    def recording(self) -> Iterator[set[Read]]:
        """Every entry read inside, by any snapshot of the session."""
        reads: set[Read] = set()
        self._shared.recording.append(reads)
        try:
            yield reads
        finally:
            self._shared.recording.remove(reads)

    def digest(self, reads: Iterable[Read]) -> str:
        """A digest of what `reads` find now: equal while none of those entries changes."""
        digest = hashlib.sha256()
        for read in sorted(reads):
            found = self.under(read[0]).found(read)
            digest.update(repr((read, found)).encode())
        return digest.hexdigest()

    def forget(self, keys: Iterable[Key] | None) -> None:
        """A statement changed these objects (None: any): their entries are read again."""
        keys = None if keys is None else set(keys)
        self._shared.changes += 1
        if keys is None:
            self._shared.loaded_at = None
        for index, block in enumerate(self._discarded):
            if block is not None:
                self._discarded[index] = None if keys is None else block | keys
        if keys is None:
            self._by_path.clear()
            return
        for snapshot in self._by_path.values():
            snapshot.forget(keys)

    @contextmanager
    def discarded(self) -> Iterator[None]:
        """A block whose changes are rolled back: what it changed is read again after it."""
        self._discarded.append(set())
        try:
            yield
        finally:
            changed = self._discarded.pop()
            if changed is None or changed:
                self.forget(changed)
