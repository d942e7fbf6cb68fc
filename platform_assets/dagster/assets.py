"""The schema graph as one subsettable multi-asset: one process, connection and lock a run."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from platform_assets import settings
from platform_assets.dagster import relation_metadata
from platform_assets.dagster.checks import IN_SYNC, evaluate_in_sync
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.execute.engines import Outcome, select_engine
from platform_assets.health import observe
from platform_assets.lint.rules import lint_graph
from platform_assets.live import catalog
from platform_assets.live.session import Session
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey, ObjectKind, SchemaObject
from platform_assets.seeding.checks import evaluate_seed_checks
from platform_assets.seeding.load import SeedResult, load_seed, secret_values


class SchemaRunConfig(dg.Config):
    """Run config of `schema_objects`."""

    # Asset keys (e.g. "demo/users") whose changes may lose data: dropping a column,
    # narrowing a type. Refused for every other object.
    allow_destructive: list[str] = []


def build_schema_assets(
    graph: SchemaGraph, translator: SchemaTranslator | None = None, pool: str | None = None
) -> dg.AssetsDefinition:
    """The schema graph as one multi-asset whose step is in `pool` (one run at a time per
    database; default PLATFORM_SCHEMA_POOL)."""
    translator = translator or SchemaTranslator()
    findings = lint_graph(graph)  # static rules: shown on the assets they concern
    for finding in findings:
        dg.get_dagster_logger().warning(f"lint: {finding}")
    specs = [translator.get_asset_spec(obj, graph, findings) for obj in graph]
    specs += [translator.get_seed_asset_spec(seed, graph) for seed in graph.seeds.values()]
    check_specs = [spec for obj in graph for spec in translator.get_check_specs(obj)]
    check_specs += [
        spec for seed in graph.seeds.values() for spec in translator.get_seed_check_specs(seed)
    ]
    # Asset key -> the object's or seed's own key.
    by_asset_key = {translator.get_asset_key(obj): obj.key for obj in graph}
    by_asset_key.update(
        {translator.get_seed_asset_key(seed): key for key, seed in graph.seeds.items()}
    )

    @dg.multi_asset(
        name="schema_objects",
        specs=specs,
        check_specs=check_specs,
        can_subset=True,
        pool=pool or settings.schema_pool(),
    )
    def schema_objects(
        context: dg.AssetExecutionContext, database: SchemaDatabase, config: SchemaRunConfig
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        selected = {by_asset_key[key] for key in context.selected_asset_keys}
        checked = {
            (by_asset_key[check.asset_key], check.name)
            for check in context.selected_asset_check_keys
        }
        allowed = allowed_destructive(config.allow_destructive, graph)
        yield from materialize_objects(
            context, database, graph, selected, checked, translator, allowed
        )

    return schema_objects


def allowed_destructive(keys: list[str], graph: SchemaGraph) -> frozenset[ObjectKey]:
    """Asset keys as object keys; an unknown one fails the run (a typo must not
    leave a destructive change refused without saying why)."""
    allowed = frozenset(tuple(key.split("/")) for key in keys)
    unknown = sorted("/".join(key) for key in allowed if key not in graph.objects)
    if unknown:
        raise dg.Failure(f"allow_destructive names no declared object: {', '.join(unknown)}")
    return allowed


def materialize_objects(
    context: dg.AssetExecutionContext,
    database: SchemaDatabase,
    graph: SchemaGraph,
    selected: set[ObjectKey],
    checked: set[tuple[ObjectKey, str]],
    translator: SchemaTranslator,
    allow_destructive: frozenset[ObjectKey] = frozenset(),
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Apply the selected objects in dependency order, then check each one checked
    (`in_sync` right after the object; the health checks at the end, in one pass).

    A failing object stops its dependents, not its siblings; the run fails at the
    end naming every object that failed, with its file and line. Checks alone
    (a verification run) change nothing.
    """
    failures: dict[ObjectKey, str] = {}
    in_sync = {key for key, name in checked if name == IN_SYNC}
    with database.session(log=context.log.info) as session, session.schema_lock():
        engine = select_engine(session, graph, allow_destructive)
        context.log.info(f"engine: {engine.name} {engine.version or ''}".rstrip())
        for obj in graph:
            if obj.key not in selected and obj.key not in in_sync:
                continue
            asset_key = translator.get_asset_key(obj)
            if blocked(obj.key, obj.depends_on, failures):
                continue
            if obj.key in selected:
                try:
                    outcome = engine.apply(obj, session)
                except SchemaError as error:
                    context.log.error(str(error))
                    failures[obj.key] = str(error)
                    continue
                if obj.kind == ObjectKind.EXTENSION:
                    engine = select_engine(session, graph, allow_destructive)
                yield dg.MaterializeResult(
                    asset_key=asset_key,
                    metadata=outcome_metadata(obj, outcome, session, engine.name),
                )
            if obj.key in in_sync:
                yield evaluate_in_sync(obj, graph, engine, session, asset_key)
        yield from materialize_seeds(
            context, database, graph, selected, checked, translator, session, failures
        )
        health = {(key, name) for key, name in checked if name != IN_SYNC}
        health = {(key, name) for key, name in health if key not in graph.seeds}
        if health:
            names = {name for _, name in health}
            for finding in observe(session, graph, names, datetime.now(UTC)):
                if (finding.key, finding.check) in health and finding.key not in failures:
                    yield dg.AssetCheckResult(
                        asset_key=translator.get_asset_key(graph[finding.key]),
                        check_name=finding.check,
                        passed=finding.passed,
                        description=finding.description,
                        metadata=finding.dagster_metadata,
                    )
    if failures:
        lines = [f"- {'/'.join(key)}: {message}" for key, message in failures.items()]
        raise dg.Failure(
            description=f"{len(failures)} schema object(s) failed:\n" + "\n".join(lines),
            metadata={
                "failed": dg.MetadataValue.json({"/".join(k): m for k, m in failures.items()})
            },
        )


def blocked(key: ObjectKey, depends_on: set[ObjectKey], failures: dict[ObjectKey, str]) -> bool:
    """Whether something `key` depends on failed; if so it is recorded as not run."""
    failed = sorted(dep for dep in depends_on if dep in failures)
    if failed:
        failures[key] = f"not run: {'/'.join(failed[0])} failed"
    return bool(failed)


def materialize_seeds(
    context: dg.AssetExecutionContext,
    database: SchemaDatabase,
    graph: SchemaGraph,
    selected: set[ObjectKey],
    checked: set[tuple[ObjectKey, str]],
    translator: SchemaTranslator,
    session: Session,
    failures: dict[ObjectKey, str],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Load the selected seeds after every object (seeds depend on tables, never the
    reverse), each in its own transaction, then run their checks."""
    for key, seed in graph.seeds.items():
        names = {name for check_key, name in checked if check_key == key}
        if key not in selected and not names:
            continue
        asset_key = translator.get_seed_asset_key(seed)
        if blocked(key, seed.depends_on, failures):
            continue
        if key in selected:
            try:
                values, generated = secret_values(seed, generate=database.is_embedded())
                result = load_seed(session, seed, graph, values)
            except SchemaError as error:
                context.log.error(str(error))
                failures[key] = str(error)
                continue
            if result.inserted:
                for variable, password in generated.items():
                    # Shown once, here: only its hash is stored.
                    context.log.warning(
                        f"{seed.describe()}: {variable} is not set; generated the password "
                        f"{password!r} for the embedded database (shown only now)"
                    )
            yield dg.MaterializeResult(asset_key=asset_key, metadata=seed_metadata(result))
        if names:
            for check in evaluate_seed_checks(session, seed, names):
                yield dg.AssetCheckResult(
                    asset_key=asset_key,
                    check_name=check.name,
                    passed=check.passed,
                    description=check.description,
                    metadata=check.metadata,
                )


def seed_metadata(result: SeedResult) -> dict[str, object]:
    metadata: dict[str, object] = {
        "action": "updated" if result.changed else "unchanged",
        "file_rows": result.file_rows,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rows_not_in_file": result.not_in_file,
        "deleted": result.deleted,
        "load_method": result.method,
    }
    if result.partitions_created:
        metadata["partitions_created"] = result.partitions_created
    return metadata


def outcome_metadata(
    obj: SchemaObject, outcome: Outcome, session: Session, engine: str
) -> dict[str, object]:
    executed = "\n".join(s.rstrip(";") + ";" for s in outcome.executed)
    metadata: dict[str, object] = {
        "action": outcome.action.value,
        "engine": engine,
        "statements_executed": len(outcome.executed),
        "sql_executed": dg.MetadataValue.md(f"```sql\n{executed}\n```" if executed else "(none)"),
    }
    if outcome.reason:
        metadata["reason"] = outcome.reason
    for name, value in outcome.details.items():
        metadata[name] = value
    if obj.kind == ObjectKind.TABLE:
        metadata.update(
            table_metadata(session, obj.schema, obj.name, relation_metadata.column_comments(obj))
        )
    return metadata


def table_metadata(
    session: Session, schema: str, table: str, comments: dict[str, str] | None = None
) -> dict[str, object]:
    """The live columns and row count; `comments` (the declared column comments) keep each
    column's description on the materialization, as on the definition."""
    comments = comments or {}
    columns = catalog.columns(session, schema, table)
    if not columns:
        return {}
    column_schema = dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.type,
                description=comments.get(column.name),
                constraints=dg.TableColumnConstraints(nullable=not column.not_null),
            )
            for column in columns
        ]
    )
    return {
        "dagster/column_schema": column_schema,
        "dagster/row_count": catalog.row_count(session, schema, table),
    }
