"""`sql/**/*.sql` -> the object graph: every declared object and what it depends on."""

from __future__ import annotations

import graphlib
import heapq
from dataclasses import replace
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from platform_assets.model.declarations import (
    ExistingSchema,
    HypertableConversion,
    KeyKind,
    ReorderPolicy,
    TableDefinition,
)
from platform_assets.model.errors import SchemaError, SchemaErrors
from platform_assets.model.graph import SYSTEM_SCHEMAS, SchemaGraph
from platform_assets.model.naming import choose_name, column_part, constraint_names
from platform_assets.model.objects import (
    CATALOG_KINDS,
    GLOBAL_KINDS,
    RELATION_KINDS,
    RELATION_MEMBER_KINDS,
    ObjectKey,
    ObjectKind,
    SchemaObject,
    Statement,
    object_key,
)
from platform_assets.parse.classify import (
    Amendment,
    Creation,
    InsertedRows,
    Name,
    Removal,
    classify,
    implied_statements,
)
from platform_assets.parse.commands import TokenReader
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import fold_identifiers, regclass_name
from platform_assets.parse.statements import read_statements
from platform_assets.parse.tables import table_definition
from platform_assets.seeding.declaration import Seed, add_rows, discover_seeds, inline_seed


def compile_directory(
    sql_dir: Path, root: Path | None = None, seeds_dir: Path | None = None
) -> SchemaGraph:
    """Read every `.sql` file below `sql_dir` (in path order) into one graph, with the seeds
    of `seeds_dir` (default `<root>/seeds`); locations are named relative to `root`."""
    root = root or sql_dir.parent
    files = sorted(sql_dir.rglob("*.sql"))
    graph = compile_files(files, root)
    seeds = discover_seeds(root, graph.objects, seeds_dir)
    for key, seed in graph.seeds.items():  # INSERT ... VALUES rows in sql/
        if key in seeds:
            raise SchemaErrors(
                [
                    seed.error(
                        f"{seed.qualified_table} has rows both here and in "
                        f"{seeds[key].location.file}: keep them in one place"
                    )
                ]
            )
        seeds[key] = seed
    graph.seeds = seed_order(seeds)
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
        # (namespace, schema) -> the names taken in it, for naming unnamed indexes.
        self.taken: dict[tuple[str, str], set[str]] = {}
        self.errors: list[SchemaError] = []
        # INSERT ... VALUES rows, per table: seeds of their own.
        self.inserts: list[tuple[Statement, InsertedRows, ObjectKey]] = []
        self.inline_seeds: dict[ObjectKey, Seed] = {}
        # CREATE statements (by id) preceded by a "start clean" DROP ... IF EXISTS.
        self.start_clean: dict[int, Statement] = {}
        # References read from a statement's tokens (its tree does not show them).
        self.token_references: dict[int, list[tuple[str, Name]]] = {}
        # `ALTER INDEX ... ATTACH PARTITION` of a key's index: resolved once every
        # table's constraints are known.
        self.key_index_attachments: list[tuple[Statement, Amendment]] = []
        # `ALTER TABLE parent ATTACH PARTITION t` statements (by id).
        self.partition_attachments: set[int] = set()

    def compile(self, statements: list[Statement]) -> SchemaGraph:
        for index, statement in enumerate(statements):
            try:
                found = classify(statement)
                if isinstance(found, InsertedRows):
                    self._insert(statement, found)
                    continue
                if isinstance(found, Removal):
                    following = statements[index + 1] if index + 1 < len(statements) else None
                    self._start_clean(statement, found, following)
                    continue
                self._add(statement, found)
                for implied in implied_statements(statement):
                    self._add(implied, classify(implied))
            except SchemaError as error:
                if error.location is None:
                    error.location = statement.location
                self.errors.append(error)
        for obj in self.objects.values():
            if obj.kind == ObjectKind.TABLE:  # complete now: its amendments are known
                obj.statements = self._keys_before_attaching(obj.statements)
                obj.declaration = table_definition(obj.statements)
        self._attach_key_indexes()
        for statement, rows, key in self.inserts:  # seeds read their table's declaration
            try:
                self._seed(statement, rows, self.objects[key])
            except SchemaError as error:
                self.errors.append(error)
        if not self.errors:
            for obj in self.objects.values():
                self._resolve_dependencies(obj)
            for obj in self.objects.values():
                if obj.kind == ObjectKind.FUNCTION:
                    self._body_dependencies(obj)
        if self.errors:
            raise SchemaErrors(self.errors)
        order = self._order()
        return SchemaGraph(self.objects, order, self.root, seeds=self.inline_seeds)

    # -- declaring -------------------------------------------------------------

    def _add(self, statement: Statement, found: Creation | Amendment) -> None:
        if found.references:
            self.token_references[id(statement)] = found.references
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
                if not name:
                    name = self._index_name(schema, relation, statement)
        obj = SchemaObject(
            kind=kind,
            schema=schema,
            name=name,
            relation=relation,
            statements=[statement],
            declaration=found.declaration,
        )
        obj.start_clean = self.start_clean.get(id(statement))
        if found.relation is not None and kind != ObjectKind.INDEX:
            obj.schema = self._lookup_schema("relation", found.relation, statement)
        if kind == ObjectKind.EXTENSION and obj.key in self.objects and found.if_not_exists:
            return  # another file's CREATE EXTENSION IF NOT EXISTS: the same extension
        if kind == ObjectKind.DEFAULT_PRIVILEGES and obj.key in self.objects:
            # pg_dump writes one statement per grant of the same defaults.
            self.objects[obj.key].statements.append(statement)
            return
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
            self.taken.setdefault((namespace, obj.schema), set()).add(obj.name)
        self.objects[obj.key] = obj

    def _insert(self, statement: Statement, found: InsertedRows) -> None:
        """Rows of lookup data into a declared table become that table's seed (once
        the table's declaration is complete)."""
        key = self._find("relation", found.table, statement)
        table = self.objects.get(key) if key is not None else None
        if table is None or table.kind != ObjectKind.TABLE:
            if self.lenient:
                return
            raise SchemaError(
                f"INSERT INTO {_describe_name(found.table, '').strip()}: no table of that name "
                "is declared before it (declare the table first; rows load into declared "
                "tables only)",
                statement.location,
            )
        self.inserts.append((statement, found, table.key))

    def _seed(self, statement: Statement, found: InsertedRows, table: SchemaObject) -> None:
        seed = inline_seed(
            table,
            self.root / statement.location.file,
            statement.location,
            found.columns,
            found.rows,
            found.lines,
            found.do_nothing,
        )
        if seed.key_path in self.inline_seeds:
            add_rows(self.inline_seeds[seed.key_path], seed)
        else:
            self.inline_seeds[seed.key_path] = seed

    def _start_clean(self, drop: Statement, removal: Removal, following: Statement | None) -> None:
        """`DROP <kind> IF EXISTS x` directly before `CREATE <kind> x`, as tutorials write
        it, means "start clean": the object is declared, and an existing one is kept
        (and evolved to the declaration), never dropped. Any other DROP is refused."""
        created = classify(following) if following is not None else None
        if (
            removal.if_exists
            and following is not None
            and following.location.file == drop.location.file
            and isinstance(created, Creation)
            and created.name.name == removal.name.name
            and (removal.name.schema or None) in (None, created.name.schema)
            and _drop_kind(created.kind) == removal.kind
        ):
            self.start_clean[id(following)] = drop
            return
        label = f"{removal.kind.lower()} {_describe_name(removal.name, '').strip()}"
        raise SchemaError(
            f"DROP {removal.kind} would destroy {label} and everything in it: the platform "
            "never drops what sql/ declares or used to declare. To remove it, delete its "
            "CREATE from sql/ (it is then reported as an orphan and kept); to start clean "
            "as a tutorial does, write DROP ... IF EXISTS directly before its CREATE",
            drop.location,
        )

    def _index_name(self, schema: str, table: str | None, statement: Statement) -> str:
        """The name PostgreSQL gives `CREATE INDEX ON t (...)` (model/naming.py)."""
        index = statement.tree.this
        columns = [
            _figure_column_name(ordered.this)
            for ordered in index.args["params"].args.get("columns") or []
        ]
        taken = self.taken.get(("relation", schema), set())
        return choose_name(table or "", column_part(columns), "idx", taken)

    def _amend(self, statement: Statement, found: Amendment) -> None:
        target_key = self._find_target(found, statement)
        if target_key is None and found.namespace == "schema":
            target_key = self._existing_schema(found.target.name, statement)
        if target_key is None and found.attached_to is not None and found.references:
            self.key_index_attachments.append((statement, found))
            return
        if target_key is None and self.lenient:
            return
        if target_key is None and found.kind == ObjectKind.LARGE_OBJECT:
            oid = found.target.name
            raise SchemaError(
                f"large object {oid} is not declared before this statement: declare it "
                f"with SELECT lo_create({oid}) (as pg_dump writes it)",
                statement.location,
            )
        if target_key is None:
            raise SchemaError(
                f"{_describe_name(found.target)} is not declared before this statement",
                statement.location,
            )
        target = self.objects[target_key]
        if found.dimension is not None or found.integer_now_func is not None:
            hypertable_key = object_key(ObjectKind.HYPERTABLE, target.schema, "", target.name)
            call = "add_dimension" if found.dimension is not None else "set_integer_now_func"
            if hypertable_key not in self.objects:
                raise SchemaError(
                    f"{call} on {target.qualified_name} before its create_hypertable",
                    statement.location,
                )
            hypertable = self.objects[hypertable_key]
            hypertable.statements.append(statement)
            conversion = hypertable.declared(HypertableConversion)
            if found.dimension is not None:
                hypertable.declaration = conversion.with_dimension(found.dimension)
            else:
                now = found.integer_now_func
                hypertable.declaration = replace(conversion, integer_now_func=now)
            return
        target.statements.append(statement)
        if found.attached_to is not None and target.kind == ObjectKind.TABLE:
            self.partition_attachments.add(id(statement))

    def _keys_before_attaching(self, statements: list[Statement]) -> list[Statement]:
        """A partition's own constraints before it is attached: attaching then adopts
        their indexes for the parent's keys, which the parent (an asset that ran before)
        already has; attached first, the server would make those indexes itself and the
        partition's ADD CONSTRAINT would find its name taken. pg_dump attaches before
        adding any key, which a psql run of the file does for the whole database at once."""
        attaching = [s for s in statements[1:] if id(s) in self.partition_attachments]
        if not attaching:
            return statements
        rest = [s for s in statements if id(s) not in self.partition_attachments]
        last_key = max((i for i, s in enumerate(rest) if _adds_constraint(s)), default=0)
        return rest[: last_key + 1] + attaching + rest[last_key + 1 :]

    def _attach_key_indexes(self) -> None:
        """`ALTER INDEX parent_pkey ATTACH PARTITION part_pkey`, as pg_dump writes the keys
        of a partitioned table: it completes the partition whose constraint made
        `part_pkey`, and runs after the table whose key (or the index) is `parent_pkey`."""
        if not self.key_index_attachments:
            return
        key_indexes: dict[tuple[str, str], ObjectKey] = {}
        for obj in self.objects.values():
            if obj.kind == ObjectKind.TABLE:
                keys = obj.declared(TableDefinition).keys
                names = constraint_names(
                    obj.name, [(k.name, k.kind.value, k.columns) for k in keys]
                )
                for key, name in zip(keys, names, strict=True):
                    if key.kind in INDEXED_KEYS:
                        key_indexes.setdefault((obj.schema, name), obj.key)

        def key_index(name: Name, statement: Statement) -> ObjectKey | None:
            schemas = (name.schema,) if name.schema else statement.search_path
            return next(
                (key_indexes[(s, name.name)] for s in schemas if (s, name.name) in key_indexes),
                None,
            )

        for statement, found in self.key_index_attachments:
            owner = key_index(found.target, statement)
            if owner is None:
                if not self.lenient:
                    self.errors.append(
                        SchemaError(
                            f"{_describe_name(found.target, 'index')} is attached as a "
                            "partition but is neither a declared index nor the index of a "
                            "declared table's primary key, unique or exclusion constraint",
                            statement.location,
                        )
                    )
                continue
            assert found.attached_to is not None
            parent = self._find("relation", found.attached_to, statement) or key_index(
                found.attached_to, statement
            )
            table = self.objects[owner]
            table.statements.append(statement)
            if parent is not None and parent != owner:
                table.depends_on.add(parent)

    def _find_target(self, found: Amendment, statement: Statement) -> ObjectKey | None:
        if found.relation is not None and found.kind in RELATION_MEMBER_KINDS:
            relation_key = self._find("relation", found.relation, statement)
            if relation_key is None:
                return None
            relation = self.objects[relation_key]
            key = object_key(found.kind, relation.schema, found.target.name, relation.name)
            return key if key in self.objects else None
        return self._find(found.namespace, found.target, statement)

    def _existing_schema(self, name: str, statement: Statement) -> ObjectKey | None:
        """`public` exists in every database: grants, ownership and comments on it
        (as pg_dump writes them) complete it, checked against the catalog."""
        if name != "public":
            return None
        obj = SchemaObject(ObjectKind.SCHEMA, name, name, None, [], declaration=ExistingSchema())
        self.objects[obj.key] = obj
        return obj.key

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
        if not obj.statements:
            return
        statement = obj.definition
        if obj.kind not in (ObjectKind.EXTENSION, ObjectKind.SCHEMA, *GLOBAL_KINDS):
            self._require_schema(obj, statement)
        if obj.relation is not None:
            relation_key = self._require(obj, "relation", Name(obj.schema, obj.relation), statement)
            if relation_key is not None:
                self._link_timescale(obj, relation_key)
        for stmt in obj.statements:
            trees = [stmt.tree]
            if obj.kind == ObjectKind.DOMAIN:
                trees += domain_checks(stmt)
            for namespace, name in (found for tree in trees for found in _references(tree)):
                if (
                    namespace == "relation"
                    and obj.kind != ObjectKind.TABLE
                    and (name.name == obj.relation)
                ):
                    continue
                self._require(obj, namespace, name, stmt, optional=namespace == "function")
            for namespace, name in self.token_references.get(id(stmt), []):
                key = self._find(namespace, name, stmt)
                if key is not None:  # else the server's or an extension's
                    obj.depends_on.add(key)
        if obj.kind == ObjectKind.CONTINUOUS_AGGREGATE:
            # A continuous aggregate reads hypertables: it needs them converted first.
            for dep in list(obj.depends_on):
                source = self.objects[dep]
                hypertable = object_key(ObjectKind.HYPERTABLE, source.schema, "", source.name)
                if hypertable in self.objects:
                    obj.depends_on.add(hypertable)
        timescaledb = object_key(ObjectKind.EXTENSION, "timescaledb", "timescaledb")
        converted = object_key(ObjectKind.HYPERTABLE, obj.schema, "", obj.name)
        if timescaledb in self.objects and (
            obj.is_timescale or (obj.kind == ObjectKind.TABLE and converted in self.objects)
        ):
            # A table a hypertable declaration converts is built for the engine the
            # extension makes: after it, whatever the file order.
            obj.depends_on.add(timescaledb)
        obj.depends_on.discard(obj.key)

    def _body_dependencies(self, function: SchemaObject) -> None:
        """The declared relations a SQL-language function's body reads, where sqlglot
        can read the body: the function follows them (and so works with
        check_function_bodies on, whatever the file order). A relation that itself
        depends on the function (a default or check calling it) is left to the file's
        order rather than made a cycle."""
        for name in function_body_relations(function.definition):
            key = self._find("relation", name, function.definition)
            if key is None or key == function.key or self._reaches(key, function.key):
                continue
            function.depends_on.add(key)

    def _reaches(self, start: ObjectKey, goal: ObjectKey) -> bool:
        seen: set[ObjectKey] = set()
        stack = [start]
        while stack:
            key = stack.pop()
            if key == goal:
                return True
            if key not in seen:
                seen.add(key)
                stack.extend(self.objects[key].depends_on)
        return False

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
        if key is None and namespace == "type":  # a relation's row type (a composite's field)
            key = self._find("relation", name, statement)
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
        # Where dependencies leave it open, the files' own order decides: always the
        # earliest declared object that is ready, so a file psql runs in order does too.
        position = {key: index for index, key in enumerate(self.objects)}
        ready: list[tuple[int, ObjectKey]] = []
        order: list[ObjectKey] = []
        while sorter.is_active():
            for key in sorter.get_ready():
                heapq.heappush(ready, (position[key], key))
            _, key = heapq.heappop(ready)
            order.append(key)
            sorter.done(key)
        return order


# Constraints PostgreSQL builds an index of the same name for.
INDEXED_KEYS = frozenset({KeyKind.PRIMARY, KeyKind.UNIQUE, KeyKind.EXCLUSION})


def _adds_constraint(statement: Statement) -> bool:
    tree = statement.tree
    return isinstance(tree, exp.Alter) and any(
        isinstance(action, exp.AddConstraint) for action in tree.args.get("actions") or []
    )


def _namespace(kind: ObjectKind) -> str | None:
    if kind in RELATION_KINDS:
        return "relation"
    if kind in (ObjectKind.TYPE, ObjectKind.DOMAIN):
        return "type"
    if kind == ObjectKind.FUNCTION:
        return "function"
    if kind in CATALOG_KINDS and kind not in RELATION_MEMBER_KINDS:
        return kind.value
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
        if isinstance(literal, exp.Literal) and literal.is_string:  # a regclass
            found.append(("relation", regclass_name(literal.name)))
    return found


def _own_name(tree: exp.Expr) -> exp.Expr | None:
    if isinstance(tree, exp.Create):
        target = tree.this
        return target.this if isinstance(target, exp.Schema | exp.UserDefinedFunction) else target
    if isinstance(tree, exp.Alter | exp.Comment):
        # COMMENT ON FUNCTION f(args): the function's name
        return tree.this.this if isinstance(tree.this, exp.UserDefinedFunction) else tree.this
    if isinstance(tree, exp.Grant | exp.Revoke):
        return tree.args.get("securable")
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


def function_body_relations(statement: Statement) -> list[Name]:
    """Relations a `LANGUAGE sql` function body reads (none when it does not parse)."""
    tree = statement.tree
    if not isinstance(tree, exp.Create) or not isinstance(tree.expression, exp.Heredoc):
        return []
    language = tree.find(exp.LanguageProperty)
    if language is None or language.name.lower() != "sql":
        return []
    try:
        bodies = sqlglot.parse(tree.expression.name, read=DIALECT)
    except (ParseError, TokenError):
        return []
    return [
        name
        for body in bodies
        if body is not None
        for namespace, name in _references(fold_identifiers(body))
        if namespace == "relation"
    ]


def domain_checks(statement: Statement) -> list[exp.Expr]:
    """The CHECK expressions of a CREATE / ALTER DOMAIN (a Command to sqlglot), parsed:
    the functions and types they call are the domain's dependencies."""
    if not statement.tokens:
        return []
    reader = TokenReader(statement.tokens, statement.text, statement.tokens[0].start)
    checks: list[exp.Expr] = []
    while "CHECK" in reader.words:
        reader.position += reader.words.index("CHECK") + 1
        text = reader.parenthesized()
        try:
            checks.append(fold_identifiers(sqlglot.parse_one(text, read=DIALECT)))
        except (ParseError, TokenError):
            continue  # the server reads it; only its dependencies go unseen
    return checks


def _figure_column_name(node: exp.Expr) -> str | None:
    """The name PostgreSQL's FigureColname gives an index column: the column, the
    function called, a cast's operand; None ("expr") for anything else."""
    while isinstance(node, exp.Paren | exp.Cast):
        node = node.this
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _drop_kind(kind: ObjectKind) -> str:
    """The word DROP takes for an object kind (DROP TABLE, DROP MATERIALIZED VIEW)."""
    if kind == ObjectKind.CONTINUOUS_AGGREGATE:
        return "MATERIALIZED VIEW"
    return kind.value.replace("_", " ").upper()


def _describe_name(name: Name, namespace: str = "relation") -> str:
    qualified = f"{name.schema}.{name.name}" if name.schema else name.name
    return f"{namespace} {qualified}"
