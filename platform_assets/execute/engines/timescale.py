"""TimescaleDB: hypertables, compression, policies and continuous aggregates applied natively.

Everything is reconciled against `timescaledb_information`, never created blindly
with `if_not_exists` (which keeps an old policy's settings): a policy job that
exists with other settings is changed with `alter_job`, keeping its id.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlglot import exp

from platform_assets.diff import aggregates, guard, retention
from platform_assets.execute import indexes, rollups
from platform_assets.execute.engines.base import Action, Outcome, Window
from platform_assets.execute.engines.postgres import PostgresEngine, as_planned, swap_statements
from platform_assets.live import catalog
from platform_assets.live import timescale_catalog as tc
from platform_assets.live.session import Session
from platform_assets.model.declarations import (
    ColumnstoreSettings,
    ContinuousAggregate,
    HypertableConversion,
    JobLimits,
    Policy,
    RetentionPolicy,
    UserJob,
)
from platform_assets.model.errors import SchemaError
from platform_assets.model.hazards import Hazard, LockLevel, PlannedStatement, planned
from platform_assets.model.objects import ObjectKind, SchemaObject
from platform_assets.parse.classify import single_call
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import fold_identifiers, regclass_name

NAME_SETTINGS = {"index_name"}  # compared as names, the rest as intervals


class TimescaleEngine(PostgresEngine):
    """PostgreSQL with TimescaleDB: its declarations are applied natively."""

    name = "timescaledb"
    native_hypertables = True

    # -- hypertables ----------------------------------------------------------------

    def apply_hypertable(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert obj.relation is not None
        live = tc.hypertable(session, obj.schema, obj.relation)
        if live is None and session.snapshot.relkind(obj.schema, obj.relation) == "p":
            name = f"{obj.schema}.{obj.relation}"
            raise SchemaError(
                f"{name} is natively partitioned (as a run without TimescaleDB makes a "
                "hypertable), and TimescaleDB cannot convert a partitioned table. To fix it: "
                f"keep its rows (CREATE TABLE {obj.relation}_rows AS SELECT * FROM {name}), "
                f"DROP TABLE {name} CASCADE, materialize again (it is created for "
                f"TimescaleDB), then INSERT INTO {name} SELECT * FROM {obj.relation}_rows",
                obj.location,
                obj.describe(),
            )
        if live is None:
            rows = catalog.row_count(session, obj.schema, obj.relation)
            session.execute(
                planned(
                    with_migrate_data(obj),
                    LockLevel.ACCESS_EXCLUSIVE,
                    Hazard.TABLE_REWRITE,
                )
                if rows
                else as_planned(obj.definition)
            )
            for statement in obj.statements[1:]:
                session.execute(as_planned(statement))
            if rows:
                outcome.details["migrated_rows"] = rows
                outcome.details["note"] = f"converted with its {rows} existing rows (migrate_data)"
            action = Action.CREATED
        else:
            action = Action.UNCHANGED
            conversion = obj.declared(HypertableConversion)
            declared = str(conversion.chunk_interval) if conversion.chunk_interval else None
            if declared and not tc.same_interval(session, declared, live.chunk_interval):
                session.execute(
                    sql.SQL("SELECT set_chunk_time_interval({}, {}::interval)").format(
                        sql.Literal(tc.qualified(session, obj.schema, obj.relation)),
                        sql.Literal(declared),
                    )
                )
                outcome.details["chunk_interval_changed"] = (
                    f"{live.chunk_interval} -> {declared}; applies to new chunks only"
                )
                action = Action.UPDATED
            added = iter(conversion.added)
            for statement in obj.statements[1:]:
                call = single_call(statement.tree)
                if call is not None and call.name.lower() == "set_integer_now_func":
                    # Read back from the time dimension, by the function's name.
                    now = conversion.integer_now_func or ""
                    live_now = tc.integer_now_func(session, obj.schema, obj.relation)
                    if live_now != regclass_name(now).name:
                        session.execute(as_planned(statement))
                        action = Action.UPDATED
                    continue
                if next(added).column not in live.dimension_columns:
                    session.execute(as_planned(statement))
                    action = Action.UPDATED
        self._hypertable_details(obj, session, outcome)
        return action

    def _hypertable_details(self, obj: SchemaObject, session: Session, outcome: Outcome) -> None:
        assert obj.relation is not None
        live = tc.hypertable(session, obj.schema, obj.relation)
        if live is not None:
            outcome.details["chunk_interval"] = live.chunk_interval
            outcome.details["dimensions"] = live.dimensions
            outcome.details["chunks"] = live.chunks

    def index_build(
        self, obj: SchemaObject, session: Session, name: str
    ) -> tuple[list[PlannedStatement], list[PlannedStatement]]:
        """A hypertable refuses CONCURRENTLY: its index is built one chunk per transaction
        (timescaledb.transaction_per_chunk), except a unique one, which TimescaleDB builds
        only in one transaction (writes wait for it)."""
        assert obj.relation is not None
        if tc.hypertable(session, obj.schema, obj.relation) is None:
            return super().index_build(obj, session, name)
        if obj.definition.tree.args.get("unique"):
            return [planned(indexes.rendered(obj, name), LockLevel.SHARE, Hazard.INDEX_BUILD)], []
        per_chunk = planned(
            indexes.rendered(obj, name, per_chunk=True),
            LockLevel.SHARE,  # each chunk's, one at a time; the hypertable's briefly
            Hazard.INDEX_BUILD,
            outside_transaction=True,
        )
        return [], [per_chunk]

    # -- compression settings -------------------------------------------------------

    def apply_compression_settings(
        self, obj: SchemaObject, session: Session, outcome: Outcome
    ) -> Action:
        assert obj.relation is not None
        live = tc.compression_settings(session, obj.schema, obj.relation)
        settings = obj.declared(ColumnstoreSettings)
        declared = {"segmentby": settings.segmentby, "orderby": settings.orderby}
        if live is None:
            action = self.create(obj, session)
        elif _columns(declared["segmentby"]) != _columns(live["segmentby"]) or _ordering(
            declared["orderby"]
        ) != _ordering(live["orderby"]):
            outcome.details["previous_settings"] = dict(live)
            for statement in obj.statements:
                session.execute(as_planned(statement))
            action = Action.UPDATED
        else:
            action = Action.UNCHANGED
        now = tc.compression_settings(session, obj.schema, obj.relation) or {}
        outcome.details["compression_settings"] = {k: now.get(k) for k in ("segmentby", "orderby")}
        return action

    # -- policies -------------------------------------------------------------------

    def _apply_policy(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        assert obj.relation is not None
        proc = tc.POLICY_PROCEDURES[obj.kind]
        policy = obj.declared(Policy)
        declared = policy.job_config
        schedule = policy.schedule_interval
        found = tc.jobs(session, proc, obj.schema, obj.relation)
        destructive = obj.kind == ObjectKind.RETENTION_POLICY and self._guard_retention(
            obj, session, outcome, found[0]["config"] if found else None
        )
        # Allowed to lose rows: the policy's statements are what drops them.
        loses = (Hazard.DELETES_DATA,) if destructive else ()
        if not found:
            self.create(obj, session, *loses)
            found = tc.jobs(session, proc, obj.schema, obj.relation)
            action = Action.CREATED
        else:
            action = Action.UNCHANGED
            for extra in found[1:]:  # one job per declaration
                session.execute("SELECT delete_job(%s)", (extra["job_id"],))
                outcome.details.setdefault("deleted_duplicate_jobs", []).append(extra["job_id"])
                action = Action.UPDATED
            job = found[0]
            changed = {
                key: value
                for key, value in declared.items()
                if not _same_setting(session, key, job["config"].get(key), value)
            }
            new_schedule = (
                schedule
                if schedule and not tc.same_interval(session, schedule, job["schedule_interval"])
                else None
            )
            limits = changed_limits(session, policy.limits, job)
            if changed or new_schedule or limits:
                # Stored as TimescaleDB itself stores them ('14 days', not '14 DAYS').
                config = {
                    **job["config"],
                    **{
                        key: value if key in NAME_SETTINGS else tc.stored_interval(session, value)
                        for key, value in changed.items()
                    },
                }
                schedule_argument = (
                    sql.SQL(", schedule_interval => {}::interval").format(sql.Literal(new_schedule))
                    if new_schedule
                    else sql.SQL("")
                )
                session.execute(
                    planned(
                        sql.SQL("SELECT job_id FROM alter_job({}, config => {}{}{})").format(
                            sql.Literal(job["job_id"]),
                            sql.Literal(Jsonb(config)),
                            schedule_argument,
                            limit_arguments(limits),
                        ),
                        LockLevel.NONE,
                        *loses,
                    )
                )
                outcome.details["previous_config"] = job["config"]
                if new_schedule:
                    outcome.details["previous_schedule_interval"] = job["schedule_interval"]
                if limits:
                    outcome.details["previous_limits"] = {name: job[name] for name in limits}
                action = Action.UPDATED
            found = tc.jobs(session, proc, obj.schema, obj.relation)
        job = found[0]
        outcome.details["job_id"] = job["job_id"]
        outcome.details["config"] = job["config"]
        outcome.details["schedule_interval"] = job["schedule_interval"]
        return action

    def _guard_retention(
        self, obj: SchemaObject, session: Session, outcome: Outcome, live: dict | None
    ) -> bool:
        """Refuse a retention that drops rows the live policy keeps, unless allowed;
        whether it does (and was allowed)."""
        declared = obj.declared(RetentionPolicy).drop_after
        if declared is None or isinstance(declared, int):
            return False
        assert self.graph is not None
        loss = retention.policy_loss(
            session, self.graph, obj, live.get("drop_after") if live else None, str(declared)
        )
        losses = guard.refuse_destructive(
            obj, [guard.Change([], loss)], obj.key in self.allow_destructive
        )
        if losses:
            outcome.details["destructive_changes"] = losses
        return bool(losses)

    apply_compression_policy = _apply_policy
    apply_retention_policy = _apply_policy
    apply_reorder_policy = _apply_policy
    apply_refresh_policy = _apply_policy

    def apply_job(self, obj: SchemaObject, session: Session, outcome: Outcome) -> Action:
        """A user-defined action: added when no job runs its procedure; its declared run
        limits set with alter_job when they differ."""
        jobs = tc.procedure_job_rows(session, obj.schema, obj.name)
        if jobs:
            job = jobs[0]
            outcome.details["job_id"] = job["job_id"]
            limits = changed_limits(session, obj.declared(UserJob).limits, job)
            if not limits:
                return Action.UNCHANGED
            session.execute(
                planned(
                    sql.SQL("SELECT job_id FROM alter_job({}{})").format(
                        sql.Literal(job["job_id"]), limit_arguments(limits)
                    ),
                    LockLevel.NONE,
                )
            )
            outcome.details["previous_limits"] = {name: job[name] for name in limits}
            return Action.UPDATED
        action = self.create(obj, session)
        outcome.details["job_id"] = tc.procedure_jobs(session, obj.schema, obj.name)[0]
        return action

    # -- continuous aggregates ------------------------------------------------------

    def refresh(self, obj: SchemaObject, session: Session, window: Window | None = None) -> dict:
        """Refresh over `window`; without one, run the aggregate's refresh policy job now
        (its window, its settings), or refresh it whole when it has no policy. Neither
        may run in a transaction: the session is in autocommit."""
        if not tc.is_continuous_aggregate(session, obj.schema, obj.name):
            raise SchemaError(
                f"{obj.qualified_name} is not a continuous aggregate yet",
                obj.location,
                obj.describe(),
            )
        if window is not None:
            session.execute(refresh_call(session, obj.schema, obj.name, *window))
            return {"refreshed": f"{window[0].isoformat()} to {window[1].isoformat()}"}
        job_id = tc.refresh_policy_job(session, obj.schema, obj.name)
        if job_id is not None:
            session.execute("CALL run_job(%s)", (job_id,))
            return {"refreshed": f"CALL run_job({job_id}) (its refresh policy)", "job_id": job_id}
        session.execute(refresh_call(session, obj.schema, obj.name))
        return {"refreshed": "whole aggregate (no refresh policy)"}

    def apply_continuous_aggregate(
        self, obj: SchemaObject, session: Session, outcome: Outcome
    ) -> Action:
        if session.snapshot.relkind(obj.schema, obj.name) is None:
            # WITH DATA cannot run in a transaction: create empty, refresh after commit.
            session.execute(planned(with_no_data(obj)))
            for statement in obj.statements[1:]:
                session.execute(as_planned(statement))
            outcome.after_commit.append(refresh_call(session, obj.schema, obj.name))
            action = Action.CREATED
        elif not tc.is_continuous_aggregate(session, obj.schema, obj.name):
            raise SchemaError(
                f"{obj.qualified_name} exists but is not a continuous aggregate",
                obj.location,
                obj.describe(),
            )
        else:
            live = aggregates.live_query(session, obj, timescale=True)
            if live is not None and aggregates.query_changed(
                session, live, obj.definition.tree.expression
            ):
                return self.rebuild_aggregate(obj, session, outcome, live)
            action = self.apply_amendments(obj, session)
        return action

    def rebuild_aggregate(
        self, obj: SchemaObject, session: Session, outcome: Outcome, live: str
    ) -> Action:
        """A changed query: build the new aggregate under another name, refresh it,
        then swap it in (one transaction), with its policies declared again. Allowed
        destructive changes, it is dropped and recreated in place instead."""
        aggregates.refuse_with_dependents(session, obj)
        name = obj.name
        if obj.key in self.allow_destructive:
            session.execute(
                planned(
                    sql.SQL("DROP MATERIALIZED VIEW {}").format(
                        sql.Identifier(obj.schema, obj.name)
                    ),
                    LockLevel.ACCESS_EXCLUSIVE,
                    Hazard.DELETES_DATA,
                )
            )
            outcome.details["rebuilt"] = "dropped and recreated (allowed destructive changes)"
            session.execute(planned(no_data_sql(obj.definition.tree)))
            swap: list[PlannedStatement] = []
        else:
            loss = aggregates.history_loss(session, obj, live)
            guard.refuse_destructive(obj, [guard.Change([], loss)], allowed=False)
            name = aggregates.rebuild_name(obj)
            rebuilt = sql.Identifier(obj.schema, name)
            session.execute(planned(sql.SQL("DROP MATERIALIZED VIEW IF EXISTS {}").format(rebuilt)))
            session.execute(planned(no_data_sql(rollups.renamed(obj.definition.tree, name))))
            swap = swap_statements(obj, rebuilt)
            outcome.details["rebuilt"] = f"built as {obj.schema}.{name}, refreshed, then swapped in"
        outcome.after_commit.append(refresh_call(session, obj.schema, name))
        # Dropping the old aggregate drops its policies: declare them again.
        assert self.graph is not None
        swap += [as_planned(statement) for statement in obj.statements[1:]]
        swap += [
            as_planned(statement)
            for attached in self.graph.attachments(obj)
            for statement in attached.statements
        ]
        outcome.after_commit_transaction.extend(swap)
        return Action.UPDATED


def refresh_call(
    session: Session, schema: str, name: str, start: object = None, end: object = None
) -> PlannedStatement:
    """`CALL refresh_continuous_aggregate` over [start, end) (NULL: unbounded); it runs
    outside any transaction."""
    return planned(
        sql.SQL("CALL refresh_continuous_aggregate({}, {}, {})").format(
            sql.Literal(tc.qualified(session, schema, name)), sql.Literal(start), sql.Literal(end)
        ),
        outside_transaction=True,
    )


def with_migrate_data(hypertable: SchemaObject) -> str:
    """The create_hypertable call with `migrate_data => true` (the table holds rows)."""
    statement = hypertable.definition
    if hypertable.declared(HypertableConversion).migrate_data is not None:
        return statement.tree.sql(DIALECT)  # as the user decided
    tree = statement.tree.copy()
    call = single_call(tree)
    assert call is not None
    call.append("expressions", exp.Kwarg(this=exp.var("migrate_data"), expression=exp.true()))
    return tree.sql(DIALECT)


def with_no_data(aggregate: SchemaObject) -> str:
    """The aggregate's CREATE as written when it says WITH NO DATA, else made to."""
    if aggregate.declared(ContinuousAggregate).with_data is False:
        return aggregate.definition.text
    return no_data_sql(aggregate.definition.tree)


def no_data_sql(create: exp.Expr) -> str:
    """An aggregate's CREATE rendered with WITH NO DATA."""
    properties = create.args.get("properties")
    current = [p for p in (properties.expressions if properties else [])]
    tree = create.copy()
    kept = [p.copy() for p in current if not isinstance(p, exp.WithDataProperty)]
    tree.set("properties", exp.Properties(expressions=[*kept, exp.WithDataProperty(no=True)]))
    return tree.sql(DIALECT)


def changed_limits(session: Session, limits: JobLimits, job: dict[str, Any]) -> dict[str, Any]:
    """The declared run limits the live job (a row with them) has otherwise."""
    return {
        name: value
        for name, value in limits.declared().items()
        if not _same_setting(session, name, job[name], value)
    }


def limit_arguments(limits: dict[str, Any]) -> sql.Composable:
    """`, max_runtime => ...` and the rest, for alter_job (names from JobLimits.declared)."""
    return sql.SQL("").join(
        sql.SQL(", {} => {}").format(
            sql.SQL(name),
            sql.Literal(value)
            if name == "max_retries"
            else sql.SQL("{}::interval").format(sql.Literal(str(value))),
        )
        for name, value in limits.items()
    )


def _same_setting(session: Session, key: str, live: Any, declared: Any) -> bool:
    if declared is None or live is None:
        return declared == live
    if key in NAME_SETTINGS or isinstance(live, int):
        return str(live) == str(declared)
    return tc.same_interval(session, live, declared)


def _columns(text: str | None) -> list[str]:
    """A segmentby list as column names."""
    return [c.name for c in _order_by(text)]


def _ordering(text: str | None) -> list[tuple[str, bool]]:
    """An orderby list as (column, descending) pairs."""
    return [(o.this.name, bool(o.args.get("desc"))) for o in _order_by(text)]


def _order_by(text: str | None) -> list[exp.Ordered]:
    if not text:
        return []
    # TimescaleDB reads the setting as SQL: 'DeviceId' names the column deviceid.
    tree = fold_identifiers(sqlglot.parse_one(f"SELECT 1 ORDER BY {text}", read=DIALECT))
    return list(tree.args["order"].expressions)
