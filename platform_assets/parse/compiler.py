"""`sql/**/*.sql` -> the object graph: every declared object and what it depends on."""

from __future__ import annotations

import graphlib
from pathlib import Path

from sqlglot import exp

from platform_assets.model.declarations import HypertableConversion, ReorderPolicy
from platform_assets.model.errors import SchemaError, SchemaErrors
from platform_assets.model.graph import SYSTEM_SCHEMAS, SchemaGraph
from platform_assets.model.objects import (
    RELATION_KINDS,
    ObjectKey,
    ObjectKind,
    SchemaObject,
    Statement,
    object_key,
)
from platform_assets.parse.classify import Amendment, Creation, Name, classify
from platform_assets.parse.statements import read_statements
from platform_assets.parse.tables import table_definition
from platform_assets.seeding.declaration import Seed, discover_seeds


def compile_directory(
    sql_dir: Path, root: Path | None = None, seeds_dir: Path | None = None
) -> SchemaGraph:
    """Read every `.sql` file below `sql_dir` (in path order) into one graph, with the seeds
    of `seeds_dir` (default `<root>/seeds`); locations are named relative to `root`."""
    root = root or sql_dir.parent
    files = sorted(sql_dir.rglob("*.sql"))
    graph = compile_files(files, root)
    graph.seeds = seed_order(discover_seeds(root, graph.objects, seeds_dir))
    return graph


def seed_order(seeds: dict[ObjectKey, Seed]) -> dict[ObjectKey, Seed]:
    """Seeds after the seeds whose rows theirs reference."""
    sorter = graphlib.TopologicalSorter(
        {key: sorted(dep for dep in seed.depends_on if dep in seeds) for key, seed in seeds.items()}
    )
    return {key: seeds[key] for key in sorter.static_order()}


def compile_files(files: list[Path], root: Path, lenient: bool = False) -> SchemaGraph:
    """Compile files into one graph.

    `lenient` (for linting fragments) lets references to objects declared
    elsewhere pass instead of failing.
    """
    statements: list[Statement] = []
    errors: list[SchemaError] = []
    for path in files:
        try:
            statements.extend(read_statements(path, root))
        except SchemaError as error:
            errors.append(error)
    if errors:
        raise SchemaErrors(errors)
    return _Compiler(root, lenient).compile(statements)


class _Compiler:
    def __init__(self, root: Path, lenient: bool = False):
        self.root = root
        self.lenient = lenient
        self.objects: dict[ObjectKey, SchemaObject] = {}
        # (namespace, schema, name) -> key, for resolving references by name.
        self.names: dict[tuple[str, str, str], ObjectKey] = {}
        self.errors: list[SchemaError] = []

    def compile(self, statements: list[Statement]) -> SchemaGraph:
        for statement in statements:
            try:
                self._add(statement, classify(statement))
            except SchemaError as error:
                if error.location is None:
                    error.location = statement.location
                self.errors.append(error)
        for obj in self.objects.values():
            if obj.kind == ObjectKind.TABLE:  # complete now: its amendments are known
                obj.declaration = table_definition(obj.statements)
        if not self.errors:
            for obj in self.objects.values():
                self._resolve_dependencies(obj)
        if self.errors:
            raise SchemaErrors(self.errors)
        order = self._order()
        return SchemaGraph(self.objects, order, self.root)

    # -- declaring -------------------------------------------------------------

    def _add(self, statement: Statement, found: Creation | Amendment) -> None:
        if isinstance(found, Amendment):
            self._amend(statement, found)
            return
        kind = found.kind
        if kind in (ObjectKind.EXTENSION, ObjectKind.SCHEMA):
            schema, name = found.name.name, found.name.name
            relation = None
        else:
            owner = found.relation or found.name
            schema = owner.schema or self._default_schema(statement)
            relation = found.relation.name if found.relation else None
            name = found.name.name
            if kind == ObjectKind.INDEX:
                # An index lives in its table's schema whatever the statement says.
                schema = (found.relation.schema if found.relation else None) or self._lookup_schema(
                    "relation", found.relation, statement
                )
        obj = SchemaObject(
            kind=kind,
            schema=schema,
            name=name,
            relation=relation,
            statements=[statement],
            declaration=found.declaration,
        )
        if found.relation is not None and kind != ObjectKind.INDEX:
            obj.schema = self._lookup_schema("relation", found.relation, statement)
        if obj.key in self.objects:
            first = self.objects[obj.key]
            raise SchemaError(
                f"{obj.describe()} is declared twice (first at {first.location})",
                statement.location,
            )
        namespace = _namespace(kind)
        if namespace is not None:
            name_key = (namespace, obj.schema, obj.name)
            if name_key in self.names:
                first = self.objects[self.names[name_key]]
                raise SchemaError(
                    f"{obj.describe()}: the name is already used by {first.describe()} "
                    f"({first.location})",
                    statement.location,
                )
            self.names[name_key] = obj.key
        self.objects[obj.key] = obj

    def _amend(self, statement: Statement, found: Amendment) -> None:
        target_key = self._find(found.namespace, found.target, statement)
        if target_key is None and self.lenient:
            return
        if target_key is None:
            raise SchemaError(
                f"{_describe_name(found.target)} is not declared before this statement",
                statement.location,
            )
        target = self.objects[target_key]
        if found.dimension is not None:
            hypertable_key = object_key(ObjectKind.HYPERTABLE, target.schema, "", target.name)
            if hypertable_key not in self.objects:
                raise SchemaError(
                    f"add_dimension on {target.qualified_name} before its create_hypertable",
                    statement.location,
                )
            hypertable = self.objects[hypertable_key]
            hypertable.statements.append(statement)
            conversion = hypertable.declared(HypertableConversion)
            hypertable.declaration = conversion.with_dimension(found.dimension)
            return
        target.statements.append(statement)

    def _default_schema(self, statement: Statement) -> str:
        return statement.search_path[0]

    def _lookup_schema(self, namespace: str, name: Name | None, statement: Statement) -> str:
        assert name is not None
        if name.schema:
            return name.schema
        key = self._find(namespace, name, statement)
        if key is not None:
            return self.objects[key].schema
        return self._default_schema(statement)

    def _find(self, namespace: str, name: Name, statement: Statement) -> ObjectKey | None:
        if namespace in ("schema", "extension"):
            kind = ObjectKind.SCHEMA if namespace == "schema" else ObjectKind.EXTENSION
            key = object_key(kind, name.name, name.name)
            return key if key in self.objects else None
        schemas = (name.schema,) if name.schema else statement.search_path
        for schema in schemas:
            key = self.names.get((namespace, schema, name.name))
            if key is not None:
                return key
        return None

    # -- dependencies ------------------------------------------------------------

    def _resolve_dependencies(self, obj: SchemaObject) -> None:
        statement = obj.definition
        if obj.kind not in (ObjectKind.EXTENSION, ObjectKind.SCHEMA):
            self._require_schema(obj, statement)
        if obj.relation is not None:
            relation_key = self._require(obj, "relation", Name(obj.schema, obj.relation), statement)
            if relation_key is not None:
                self._link_timescale(obj, relation_key)
        for stmt in obj.statements:
            for namespace, name in _references(stmt.tree):
                if (
                    namespace == "relation"
                    and obj.kind != ObjectKind.TABLE
                    and (name.name == obj.relation)
                ):
                    continue
                self._require(obj, namespace, name, stmt, optional=namespace == "function")
        if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE:
            # A continuous aggregate reads hypertables: it needs them converted first.
            for dep in list(obj.depends_on):
                source = self.objects[dep]
                hypertable = object_key(ObjectKind.HYPERTABLE, source.schema, "", source.name)
                if hypertable in self.objects:
                    obj.depends_on.add(hypertable)
        timescaledb = object_key(ObjectKind.EXTENSION, "timescaledb", "timescaledb")
        if obj.is_timescale and timescaledb in self.objects:
            obj.depends_on.add(timescaledb)
        obj.depends_on.discard(obj.key)

    def _link_timescale(self, obj: SchemaObject, relation_key: ObjectKey) -> None:
        """TimescaleDB declarations follow the declaration they build on."""
        relation = self.objects[relation_key]
        chain = {
            ObjectKind.COMPRESSION_SETTINGS: ObjectKind.HYPERTABLE,
            ObjectKind.COMPRESSION_POLICY: ObjectKind.COMPRESSION_SETTINGS,
            ObjectKind.RETENTION_POLICY: ObjectKind.HYPERTABLE,
            ObjectKind.REORDER_POLICY: ObjectKind.HYPERTABLE,
        }
        wanted = chain.get(obj.kind)
        while wanted is not None:
            key = object_key(wanted, relation.schema, "", relation.name)
            if key in self.objects:
                obj.depends_on.add(key)
                return
            wanted = chain.get(wanted)
        if obj.kind == ObjectKind.REORDER_POLICY:
            index = obj.declared(ReorderPolicy).index_name
            if index is not None:
                self._require(obj, "relation", _split_name(index), obj.definition)

    def _require_schema(self, obj: SchemaObject, statement: Statement) -> None:
        if obj.schema in SYSTEM_SCHEMAS or obj.schema == "public" or self.lenient:
            return
        key = object_key(ObjectKind.SCHEMA, obj.schema, obj.schema)
        if key not in self.objects:
            self.errors.append(
                SchemaError(
                    f"{obj.describe()}: schema {obj.schema} is not declared "
                    f"(add `CREATE SCHEMA {obj.schema};`)",
                    statement.location,
                )
            )
            return
        obj.depends_on.add(key)

    def _require(
        self,
        obj: SchemaObject,
        namespace: str,
        name: Name,
        statement: Statement,
        optional: bool = False,
    ) -> ObjectKey | None:
        """Add the dependency on a referenced object; an undeclared one is an error.

        Names into schemas the user does not declare belong to the server or to
        extensions (built-in functions and types, catalog relations); names into
        a declared schema, and unqualified relations, must resolve.
        """
        key = self._find(namespace, name, statement)
        if key is not None:
            obj.depends_on.add(key)
            return key
        if name.schema is not None and not self._declares_schema(name.schema):
            return None
        if self.lenient or (
            name.schema is None and (optional or namespace == "type" or name.name.startswith("pg_"))
        ):
            return None
        self.errors.append(
            SchemaError(
                f"{obj.describe()}: references {_describe_name(name, namespace)}, "
                "which is not declared",
                statement.location,
            )
        )
        return None

    def _declares_schema(self, schema: str) -> bool:
        return object_key(ObjectKind.SCHEMA, schema, schema) in self.objects

    def _order(self) -> list[ObjectKey]:
        sorter = graphlib.TopologicalSorter(
            {key: sorted(obj.depends_on) for key, obj in self.objects.items()}
        )
        try:
            sorter.prepare()
        except graphlib.CycleError as error:
            cycle = error.args[1]
            described = " -> ".join(
                f"{self.objects[k].describe()} ({self.objects[k].location})" for k in cycle
            )
            first = self.objects[cycle[0]]
            raise SchemaErrors(
                [SchemaError(f"dependency cycle: {described}", first.location)]
            ) from error
        # Stable order: ready nodes in declaration order, so output reads like the files.
        position = {key: index for index, key in enumerate(self.objects)}
        order: list[ObjectKey] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            order.extend(ready)
            sorter.done(*ready)
        return order


def _namespace(kind: ObjectKind) -> str | None:
    if kind in RELATION_KINDS:
        return "relation"
    if kind in (ObjectKind.TYPE, ObjectKind.DOMAIN):
        return "type"
    if kind == ObjectKind.FUNCTION:
        return "function"
    return None


def _references(tree: exp.Expr) -> list[tuple[str, Name]]:
    """Objects a statement refers to: relations, user types, functions, sequences."""
    found: list[tuple[str, Name]] = []
    own = _own_name(tree)
    tables: list[exp.Table] = []
    ctes: set[str] = set()
    for node in tree.walk():  # one pass over the tree: this runs for every statement
        if isinstance(node, exp.Table):
            tables.append(node)
        elif isinstance(node, exp.CTE):
            ctes.add(node.alias_or_name)
        elif isinstance(node, exp.DataType) and node.this == exp.DType.USERDEFINED:
            kind = node.args.get("kind")
            if isinstance(kind, exp.Dot):
                found.append(("type", Name(kind.this.name, kind.expression.name)))
            elif kind is not None:
                found.append(("type", Name(None, kind.name)))
        elif isinstance(node, exp.Anonymous):
            found.extend(_call_references(node))
    for table in tables:
        if not table.name or table is own or isinstance(table.parent, exp.Create):
            continue
        if _is_definition_target(table, tree):
            continue
        if not table.db and table.name in ctes:
            continue
        found.append(("relation", Name(table.db or None, table.name)))
    return found


def _call_references(call: exp.Anonymous) -> list[tuple[str, Name]]:
    parent = call.parent
    if isinstance(parent, exp.Dot) and parent.expression is call:
        found = [("function", Name(parent.this.name, call.name))]
    else:
        found = [("function", Name(None, call.name))]
    if call.name.lower() == "nextval" and call.expressions:
        arg = call.expressions[0]
        literal = arg.this if isinstance(arg, exp.Cast) else arg
        if isinstance(literal, exp.Literal) and literal.is_string:
            found.append(("relation", _split_name(literal.name)))
    return found


def _own_name(tree: exp.Expr) -> exp.Expr | None:
    if isinstance(tree, exp.Create):
        target = tree.this
        return target.this if isinstance(target, exp.Schema | exp.UserDefinedFunction) else target
    if isinstance(tree, exp.Alter | exp.Comment):
        return tree.this
    return None


def _is_definition_target(table: exp.Table, tree: exp.Expr) -> bool:
    """The table an index or trigger is defined on is its relation, not a reference."""
    parent = table.parent
    if isinstance(parent, exp.Index) and parent.args.get("table") is table:
        return True
    if isinstance(parent, exp.TriggerProperties):
        return True
    if isinstance(parent, exp.Schema) and isinstance(parent.parent, exp.Create):
        return True
    return isinstance(tree, exp.Create) and tree.this is table


def _split_name(text: str) -> Name:
    table = exp.to_table(text)
    return Name(table.db or None, table.name)


def _describe_name(name: Name, namespace: str = "relation") -> str:
    qualified = f"{name.schema}.{name.name}" if name.schema else name.name
    return f"{namespace} {qualified}"
