"""How a declared object becomes an AssetSpec. Subclass and override a method to customise."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence

import dagster as dg

from platform_assets.dagster import relation_metadata
from platform_assets.dagster.checks import check_specs
from platform_assets.dagster.naming import InstanceNames
from platform_assets.lint.rules import LintFinding
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.naming import asset_key_part
from platform_assets.model.objects import GLOBAL_KINDS, ObjectKey, ObjectKind, SchemaObject
from platform_assets.seeding.checks import SEED_CHECKS
from platform_assets.seeding.declaration import Seed

PLATFORM_GROUP = "platform"


class SchemaTranslator:
    """`key_prefix` goes before every asset key and `group_prefix` before every group name,
    so a project can hold the schema beside its other assets; `names` names the instance's
    jobs, schedules, sensors and resources (one place, asked by every builder)."""

    def __init__(
        self,
        key_prefix: Sequence[str] = (),
        group_prefix: str = "",
        names: InstanceNames | None = None,
    ):
        self.key_prefix = list(key_prefix)
        self.group_prefix = group_prefix
        self.names = names or InstanceNames()

    def get_asset_key(self, obj: SchemaObject) -> dg.AssetKey:
        # Asked several times per object while the definitions load; built once each.
        built = self._asset_keys()
        key = obj.key
        if key not in built:
            built[key] = dg.AssetKey(_compact([*self.key_prefix, *map(asset_key_part, key)]))
        return built[key]

    def _asset_keys(self) -> dict[ObjectKey, dg.AssetKey]:
        return self.__dict__.setdefault("_built_asset_keys", {})

    def _build_asset_keys(self, graph: SchemaGraph) -> None:
        """Every object's asset key, built in one pass so they lie together in memory:
        Dagster looks each check's asset key up in a list of all the asset keys (one
        comparison per asset, per check), which at 10,000 objects took 20 s over keys
        spread across the heap among the objects they name, and 2 s over these."""
        if self.__dict__.get("_asset_keys_of") is graph:
            return
        self.__dict__["_asset_keys_of"] = graph
        for obj in graph:
            SchemaTranslator.get_asset_key(self, obj)

    def get_group_name(self, obj: SchemaObject) -> str:
        if obj.kind == ObjectKind.EXTENSION or obj.kind in GLOBAL_KINDS:
            return self.group_prefix + PLATFORM_GROUP
        return self.group_prefix + asset_key_part(obj.schema)

    def get_code_version(self, obj: SchemaObject) -> str:
        return hashlib.sha256(obj.sql.encode()).hexdigest()[:16]

    def get_kinds(self, obj: SchemaObject) -> set[str]:
        engine = "timescaledb" if obj.is_timescale or obj.name == "timescaledb" else "postgres"
        return {engine, "sql"}

    def get_description(self, obj: SchemaObject) -> str:
        return f"{obj.describe().capitalize()}, declared at {obj.location}."

    def get_metadata(self, obj: SchemaObject) -> dict[str, object]:
        metadata: dict[str, object] = {
            "sql": dg.MetadataValue.md(f"```sql\n{obj.sql}\n```"),
            "source": dg.MetadataValue.path(str(obj.location)),
            "object_kind": obj.kind.value,
            "object_name": obj.describe(),
        }
        if obj.is_timescale:
            metadata["engines"] = (
                "TimescaleDB: native. Plain PostgreSQL: see the asset's last materialization."
            )
        return metadata

    def get_tags(self, obj: SchemaObject) -> dict[str, str]:
        return {"platform/kind": obj.kind.value}

    def get_ui_metadata(self, obj: SchemaObject, graph: SchemaGraph) -> dict[str, object]:
        """The UI's conventions: the source link, and for a relation its table name and,
        for a table, its declared columns."""
        metadata: dict[str, object] = {
            "dagster/code_references": relation_metadata.code_references(graph.root, obj.location)
        }
        if obj.kind in relation_metadata.TABLE_KINDS:
            metadata["dagster/table_name"] = obj.qualified_name
        if obj.kind == ObjectKind.TABLE:
            columns = relation_metadata.declared_column_schema(obj)
            if columns is not None:
                metadata["dagster/column_schema"] = columns
        return metadata

    def get_owners(self, obj: SchemaObject) -> list[str]:
        return relation_metadata.owners(obj)

    def get_check_specs(self, obj: SchemaObject) -> list[dg.AssetCheckSpec]:
        return check_specs(obj, self.get_asset_key(obj))

    def get_lint_metadata(self, findings: list[LintFinding]) -> dict[str, object]:
        """The object's lint findings, one line each, for the asset page."""
        lines = [
            f"- `{f.rule.id}` {f.rule.severity} at {f.location}: {f.message}" for f in findings
        ]
        return {"lint": dg.MetadataValue.md("\n".join(lines))}

    def get_lint_tags(self, findings: list[LintFinding]) -> dict[str, str]:
        """`platform/lint`: the worst severity, so the catalog can be filtered by it."""
        severities = {f.rule.severity for f in findings}
        return {"platform/lint": "error" if "error" in severities else "warning"}

    def get_asset_spec(
        self, obj: SchemaObject, graph: SchemaGraph, findings: Sequence[LintFinding] = ()
    ) -> dg.AssetSpec:
        self._build_asset_keys(graph)
        own = self._findings_of(obj, findings)
        metadata = self.get_metadata(obj) | self.get_ui_metadata(obj, graph)
        tags = self.get_tags(obj)
        if own:
            metadata.update(self.get_lint_metadata(own))
            tags.update(self.get_lint_tags(own))
        return dg.AssetSpec(
            key=self.get_asset_key(obj),
            deps=[self.get_asset_key(graph[dep]) for dep in sorted(obj.depends_on)],
            group_name=self.get_group_name(obj),
            code_version=self.get_code_version(obj),
            kinds=self.get_kinds(obj),
            description=self.get_description(obj),
            metadata=metadata,
            tags=tags,
            owners=self.get_owners(obj),
            skippable=True,
        )

    def _findings_of(self, obj: SchemaObject, findings: Sequence[LintFinding]) -> list[LintFinding]:
        """The findings on `obj`, from an index of the findings built once per list (the
        same list is passed for every object: filtering it each time is quadratic)."""
        indexed = self.__dict__.get("_findings_index")
        if indexed is None or indexed[0] is not findings:
            by_key: dict[ObjectKey, list[LintFinding]] = {}
            for finding in findings:
                by_key.setdefault(finding.key, []).append(finding)
            indexed = self.__dict__["_findings_index"] = (findings, by_key)
        return indexed[1].get(obj.key, [])

    # -- seeds -----------------------------------------------------------------------

    def get_seed_asset_key(self, seed: Seed) -> dg.AssetKey:
        return dg.AssetKey(_compact([*self.key_prefix, *map(asset_key_part, seed.key_path)]))

    def get_seed_check_specs(self, seed: Seed) -> list[dg.AssetCheckSpec]:
        key = self.get_seed_asset_key(seed)
        return [
            dg.AssetCheckSpec(name=name, asset=key, description=description)
            for name, description in SEED_CHECKS.items()
        ]

    def get_seed_asset_spec(self, seed: Seed, graph: SchemaGraph) -> dg.AssetSpec:
        def dep_key(key: tuple[str, ...]) -> dg.AssetKey:
            if key in graph.seeds:
                return self.get_seed_asset_key(graph.seeds[key])
            return self.get_asset_key(graph[key])

        table = graph[(seed.schema, seed.table)]
        metadata: dict[str, object] = {
            "source": dg.MetadataValue.path(str(seed.location.file)),
            "key": ", ".join(seed.key),
            "owns_table": seed.owns_table,
            "object_kind": "seed",
            "dagster/code_references": relation_metadata.code_references(graph.root, seed.location),
            "dagster/table_name": seed.qualified_table,
        }
        columns = relation_metadata.declared_column_schema(table)
        if columns is not None:
            written = set(seed.columns)
            metadata["dagster/column_schema"] = dg.TableSchema(
                columns=[c for c in columns.columns if c.name in written]
            )
        if seed.secrets:
            metadata["secrets"] = ", ".join(
                f"{c} <- ${v} (bcrypt)" for c, v in seed.secrets.items()
            )
        return dg.AssetSpec(
            key=self.get_seed_asset_key(seed),
            deps=[dep_key(dep) for dep in sorted(seed.depends_on)],
            group_name=self.group_prefix + asset_key_part(seed.schema),
            code_version=hashlib.sha256(
                seed.content()
                + repr((seed.key, seed.owns_table, seed.insert_only, seed.secrets)).encode()
            ).hexdigest()[:16],
            kinds={"postgres", "csv"},
            description=f"Seed rows of {seed.qualified_table} from {seed.location.file}, "
            f"upserted on ({', '.join(seed.key)}).",
            metadata=metadata,
            tags={"platform/kind": "seed"},
            owners=self.get_owners(table),
            skippable=True,
        )


def _compact(parts: list[str]) -> list[str]:
    """Asset key parts as strings of their own, one object per value: equal parts compare
    by identity, and the strings a comparison reads lie with the keys (the names they
    come from lie among the parsed statements)."""
    return [sys.intern(part.encode().decode()) for part in parts]
