"""The schema graph as one subsettable multi-asset: one process, connection and lock a run."""

import functools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from platform_assets import settings
from platform_assets.dagster import relation_metadata
from platform_assets.dagster.checks import IN_SYNC, evaluate_in_sync, failed_in_sync
from platform_assets.dagster.recording import (
    RecordedMaterializations,
    last_passed_checks,
    recorded_code_version,
    records_materialization,
)
from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.execute.engines import Action, Outcome, PostgresEngine
from platform_assets.execute.fingerprints import Fingerprint
from platform_assets.execute.online import LockPolicy
from platform_assets.execute.runner import Runner
from platform_assets.health import observe
from platform_assets.lint.rules import lint_graph
from platform_assets.live import catalog
from platform_assets.live.session import Session
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey, ObjectKind, SchemaObject
from platform_assets.seeding.checks import evaluate_seed_checks
from platform_assets.seeding.load import LastLoad, SeedResult, load_seed, secret_values

# What an outcome records as a change even when it executed nothing itself.
CHANGING_ACTIONS = frozenset({Action.CREATED, Action.UPDATED})


class SchemaRunConfig(dg.Config):
    """Run config of `schema_objects`."""

    # Asset keys (e.g. "demo/users") whose changes may lose data (dropping a column,
    # narrowing a type) or rewrite a table that holds rows (int -> bigint, a volatile
    # default). Refused for every other object.
    allow_destructive: list[str] = []
    # How long a statement waits for its lock (the application waits at most this long
    # behind it), how long statements may run, and how long an object retries after
    # lock timeouts (execute/online.py). An object's annotation overrides them.
    lock_timeout: str = LockPolicy.lock_timeout
    statement_timeout: str = LockPolicy.statement_timeout
    long_statement_timeout: str = LockPolicy.long_statement_timeout
    lock_retry_budget: str = LockPolicy.lock_retry_budget

    def lock_policy(self) -> LockPolicy:
        try:
            return LockPolicy(
                lock_timeout=self.lock_timeout,
                statement_timeout=self.statement_timeout,
                long_statement_timeout=self.long_statement_timeout,
                lock_retry_budget=self.lock_retry_budget,
            )
        except ValueError as error:
            raise dg.Failure(f"run config: {error}") from error


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
    objects_by_asset_key: dict[dg.AssetKey, ObjectKey] = {}
    for obj in graph:
        asset_key = translator.get_asset_key(obj)
        if asset_key in objects_by_asset_key:  # a translator that maps two names to one
            other = graph[objects_by_asset_key[asset_key]]
            raise SchemaError(
                f"{obj.describe()} and {other.describe()} ({other.location}) map to the same "
                f"asset key {asset_key.to_user_string()}",
                obj.location,
            )
        objects_by_asset_key[asset_key] = obj.key
    by_asset_key = dict(objects_by_asset_key)
    by_asset_key.update(
        {translator.get_seed_asset_key(seed): key for key, seed in graph.seeds.items()}
    )

    names = translator.names
    # Every check targets one of these specs. Dagster checks that too, against a list
    # (quadratic: a fifth of a 10,000-object load); checked here against a set instead.
    spec_keys = {spec.key for spec in specs}
    stray = [spec for spec in check_specs if spec.asset_key not in spec_keys]
    if stray:
        raise dg.DagsterInvalidDefinitionError(
            f"check {stray[0].name} targets no asset of the schema: {stray[0].asset_key}"
        )

    @dg.multi_asset(
        name=names("schema_objects"),
        specs=specs,
        check_specs=check_specs,
        allow_arbitrary_check_specs=True,
        can_subset=True,
        pool=pool or names(settings.schema_pool()),
        required_resource_keys={names.database},
    )
    def schema_objects(
        context: dg.AssetExecutionContext, config: SchemaRunConfig
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        database = names.database_of(context)
        selected = {by_asset_key[key] for key in context.selected_asset_keys}
        checked = {
            (by_asset_key[check.asset_key], check.name)
            for check in context.selected_asset_check_keys
        }
        allowed = allowed_destructive(config.allow_destructive, objects_by_asset_key)
        yield from materialize_objects(
            context, database, graph, selected, checked, translator, allowed, config.lock_policy()
        )

    return schema_objects


def allowed_destructive(
    keys: list[str], by_asset_key: dict[dg.AssetKey, ObjectKey]
) -> frozenset[ObjectKey]:
    """Asset keys ("demo/users") as object keys; an unknown one fails the run (a typo
    must not leave a destructive change refused without saying why)."""
    asset_keys = [dg.AssetKey.from_user_string(key) for key in keys]
    unknown = sorted(key.to_user_string() for key in asset_keys if key not in by_asset_key)
    if unknown:
        raise dg.Failure(f"allow_destructive names no declared object: {', '.join(unknown)}")
    return frozenset(by_asset_key[key] for key in asset_keys)


def materialize_objects(
    context: dg.AssetExecutionContext,
    database: SchemaDatabase,
    graph: SchemaGraph,
    selected: set[ObjectKey],
    checked: set[tuple[ObjectKey, str]],
    translator: SchemaTranslator,
    allow_destructive: frozenset[ObjectKey] = frozenset(),
    policy: LockPolicy | None = None,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Apply the selected objects in dependency order, then check each one checked
    (`in_sync` once every object is applied, against the state the run left, read
    again in one pass; then the health checks, in one pass).

    A failing object stops its dependents, not its siblings; the run fails at the
    end naming every object that failed, with its file and line. Checks alone
    (a verification run) change nothing. An object found as declared records no
    event (recording.py says what is recorded when), and one its last passing check's
    fingerprint shows in place is not compared at all (execute/fingerprints.py).
    """
    in_sync = {key for key, name in checked if name == IN_SYNC}
    code_versions = context.assets_def.code_versions_by_key
    passed = last_passed_checks(
        context.instance,
        {*context.selected_asset_check_keys}
        | {
            dg.AssetCheckKey(translator.get_asset_key(graph[key]), IN_SYNC)
            for key in selected
            if key in graph.objects  # not a seed
        },
    )
    as_declared: list[str] = []
    in_place: list[str] = []
    # Checked after the walk, each as the engine of its place in the run, and whether
    # its asset's last materialization is of its current SQL.
    to_check: list[tuple[SchemaObject, PostgresEngine, dg.AssetKey, bool]] = []
    changed_any = False
    with database.session(log=context.log.info) as session, session.schema_lock():
        runner = Runner(session, graph, allow_destructive, policy)
        engine = runner.engine
        context.log.info(f"engine: {engine.name} {engine.version or ''}".rstrip())
        fingerprints = last_fingerprints(graph, selected, translator, passed)
        # Objects that will be found in place need no materialization record.
        likely_in_place = {
            translator.get_asset_key(graph[key])
            for key, fingerprint in fingerprints.items()
            if fingerprint.state is not None
            and fingerprint.context == runner.fingerprints.context(graph[key], engine)
        }
        in_sync_assets = {check.asset_key for check in context.selected_asset_check_keys}
        recorded = RecordedMaterializations(
            context.instance,
            ({*context.selected_asset_keys} | in_sync_assets) - likely_in_place,
        )
        for result in runner.run(selected, in_sync, fingerprints):
            obj = result.obj
            asset_key = translator.get_asset_key(obj)
            if result.in_place:
                in_place.append("/".join(obj.key))
                continue  # as its last passing check found it: its last results stand
            if result.failed:
                if result.error is not None:
                    context.log.error(str(result.error))
                    if obj.key in in_sync:
                        yield failed_in_sync(asset_key, result.error)
                continue
            if result.outcome is not None:
                outcome = result.outcome
                changed = bool(outcome.executed) or outcome.action in CHANGING_ACTIONS
                changed_any = changed_any or changed
                if records_materialization(
                    asset_key, changed, code_versions.get(asset_key), recorded
                ):
                    yield dg.MaterializeResult(
                        asset_key=asset_key,
                        metadata=outcome_metadata(obj, outcome, session, result.engine.name),
                    )
                else:
                    as_declared.append("/".join(obj.key))
                    last = fingerprints.get(obj.key)
                    if (
                        dg.AssetCheckKey(asset_key, IN_SYNC) in passed
                        and last is not None
                        and last.state is None  # one with a state no longer held: renewed
                        and last.context == runner.fingerprints.context(obj, result.engine)
                    ):
                        continue  # as declared and last seen so: its last results stand
                current = True  # materialized now, or last at the same code version
            else:
                last = recorded_code_version(recorded.get(asset_key))
                current = last is not None and last == code_versions.get(asset_key)
            if obj.key in in_sync:
                to_check.append((obj, result.engine, asset_key, current))
        if changed_any:  # one read of what the run left, not one per changed object
            session.snapshots.forget(None)
        for obj, object_engine, asset_key, current in to_check:
            yield evaluate_in_sync(obj, runner, asset_key, object_engine, fingerprint=current)
        log_unrecorded(context, "as declared", as_declared)
        log_unrecorded(context, "as their last check found them (not compared again)", in_place)
        yield from materialize_seeds(
            context, database, selected, checked, translator, runner, recorded, passed
        )
        health = {(key, name) for key, name in checked if name != IN_SYNC}
        health = {(key, name) for key, name in health if key not in graph.seeds}
        if health:
            names = {name for _, name in health}
            for finding in observe(session, graph, names, datetime.now(UTC)):
                if (finding.key, finding.check) not in health or finding.key in runner.failures:
                    continue
                asset_key = translator.get_asset_key(graph[finding.key])
                if (
                    selected
                    and finding.passed
                    and dg.AssetCheckKey(asset_key, finding.check) in passed
                ):
                    continue  # healthy and last seen so: its last result stands
                yield dg.AssetCheckResult(
                    asset_key=asset_key,
                    check_name=finding.check,
                    passed=finding.passed,
                    description=finding.description,
                    metadata=finding.dagster_metadata,
                )
    if runner.failures:
        failures = runner.failures
        lines = [f"- {'/'.join(key)}: {message}" for key, message in failures.items()]
        raise dg.Failure(
            description=f"{len(failures)} schema object(s) failed:\n" + "\n".join(lines),
            metadata={
                "failed": dg.MetadataValue.json({"/".join(k): m for k, m in failures.items()})
            },
        )


def last_fingerprints(
    graph: SchemaGraph,
    selected: set[ObjectKey],
    translator: SchemaTranslator,
    passed: Mapping[dg.AssetCheckKey, Any],
) -> dict[ObjectKey, Fingerprint]:
    """The fingerprint of each selected object's last in_sync result, where it passed and
    recorded one (maybe its context alone)."""
    fingerprints: dict[ObjectKey, Fingerprint] = {}
    for key in selected & graph.objects.keys():
        state = passed.get(dg.AssetCheckKey(translator.get_asset_key(graph[key]), IN_SYNC))
        fingerprint = Fingerprint.from_json(state) if state is not None else None
        if fingerprint is not None:
            fingerprints[key] = fingerprint
    return fingerprints


def log_unrecorded(context: dg.AssetExecutionContext, found: str, keys: list[str]) -> None:
    if keys:
        shown = ", ".join(keys[:50])
        more = f" and {len(keys) - 50} more" if len(keys) > 50 else ""
        context.log.info(f"{len(keys)} object(s) {found}, nothing recorded: {shown}{more}")


def materialize_seeds(
    context: dg.AssetExecutionContext,
    database: SchemaDatabase,
    selected: set[ObjectKey],
    checked: set[tuple[ObjectKey, str]],
    translator: SchemaTranslator,
    runner: Runner,
    recorded: RecordedMaterializations,
    passed: Mapping[dg.AssetCheckKey, Any],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Load the selected seeds after every object (seeds depend on tables, never the
    reverse), each in its own transaction, then run their checks. A seed whose rows were
    all in place records nothing, like an unchanged object."""
    graph = runner.graph
    code_versions = context.assets_def.code_versions_by_key
    for key, seed in graph.seeds.items():
        names = {name for check_key, name in checked if check_key == key}
        if key not in selected and not names:
            continue
        asset_key = translator.get_seed_asset_key(seed)
        if runner.blocked_by(key, seed.depends_on) is not None:
            continue
        if key in selected:
            try:
                # Hashed (bcrypt, slow on purpose) only when rows are written.
                hashed = functools.cache(
                    functools.partial(secret_values, seed, generate=database.is_embedded())
                )
                last = last_load(recorded.get(asset_key), code_versions.get(asset_key))
                result = load_seed(runner.session, seed, graph, lambda h=hashed: h()[0], last)
            except SchemaError as error:
                context.log.error(str(error))
                runner.fail(key, error)
                continue
            if result.inserted and hashed.cache_info().currsize:
                for variable, password in hashed()[1].items():
                    # Shown once, here: only its hash is stored.
                    context.log.warning(
                        f"{seed.describe()}: {variable} is not set; generated the password "
                        f"{password!r} for the embedded database (shown only now)"
                    )
            # Recorded as well where the last materialization has no digest to compare with.
            if last is None or records_materialization(
                asset_key, result.changed, code_versions.get(asset_key), recorded
            ):
                yield dg.MaterializeResult(asset_key=asset_key, metadata=seed_metadata(result))
            elif all(dg.AssetCheckKey(asset_key, name) in passed for name in names):
                continue  # every row in place and last seen so: its last results stand
        if names:
            for check in evaluate_seed_checks(runner.session, seed, names):
                yield dg.AssetCheckResult(
                    asset_key=asset_key,
                    check_name=check.name,
                    passed=check.passed,
                    description=check.description,
                    metadata=check.metadata,
                )


def last_load(
    materialization: dg.AssetMaterialization | None, code_version: str | None
) -> LastLoad | None:
    """What the seed's last materialization recorded of the table, if it loaded this
    same file (its code version: the file's content and the seed's settings)."""
    if materialization is None or recorded_code_version(materialization) != code_version:
        return None
    digest = materialization.metadata.get("table_digest")
    rows = materialization.metadata.get("file_rows")
    if digest is None or rows is None:  # recorded before digests were
        return None
    return LastLoad(file_rows=int(rows.value), table_digest=str(digest.value))


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
    if result.table_digest is not None:
        metadata["table_digest"] = result.table_digest
    return metadata


def outcome_metadata(
    obj: SchemaObject, outcome: Outcome, session: Session, engine: str
) -> dict[str, object]:
    executed = "\n".join(str(s.sql).rstrip(";") + ";" for s in outcome.executed)
    metadata: dict[str, object] = {
        "action": outcome.action.value,
        "engine": engine,
        "statements_executed": len(outcome.executed),
        "sql_executed": dg.MetadataValue.md(f"```sql\n{executed}\n```" if executed else "(none)"),
    }
    if outcome.executed:  # what each statement locked and risked
        metadata["statement_hazards"] = dg.MetadataValue.json(
            [
                {
                    "sql": str(statement.sql),
                    "lock": statement.lock.value,
                    "hazards": sorted(hazard.value for hazard in statement.hazards),
                    "after_commit": statement.outside_transaction,
                }
                for statement in outcome.executed
            ]
        )
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
    columns = session.snapshot.columns(schema, table)
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
