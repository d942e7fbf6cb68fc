"""The one runner: materialize, plan, the in_sync check and the jobs all apply objects here.

It walks the selected objects in dependency order, skips the dependents of an
object that failed (its siblings still run), picks the engine once and again
after the TimescaleDB extension is created, and yields one result per object.
Planning and checking run the same code inside a transaction that is always
rolled back (`rolled_back`), so a plan is exactly what a run executes.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg import sql
from psycopg.errors import LockNotAvailable

from platform_assets.execute.engines import Action, Outcome, PostgresEngine, select_engine
from platform_assets.execute.fingerprints import Fingerprint, Fingerprints
from platform_assets.execute.online import LockPolicy
from platform_assets.live import locks
from platform_assets.live.session import Session
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import RELATION_KINDS, ObjectKey, ObjectKind, SchemaObject


@dataclass
class ObjectResult:
    """What happened to one object of the walk."""

    obj: SchemaObject
    engine: PostgresEngine  # the engine in use once the object was applied
    outcome: Outcome | None = None  # None: walked but not applied, or failed
    error: SchemaError | None = None
    blocked_by: ObjectKey | None = None  # the failed object it depends on
    in_place: bool = False  # found as its last check's fingerprint says: not compared

    @property
    def failed(self) -> bool:
        return self.error is not None or self.blocked_by is not None


class Runner:
    """Applies declared objects over one session; remembers what failed."""

    def __init__(
        self,
        session: Session,
        graph: SchemaGraph,
        allow_destructive: frozenset[ObjectKey] = frozenset(),
        policy: LockPolicy | None = None,
    ):
        self.session = session
        self.graph = graph
        self.allow_destructive = allow_destructive
        self.policy = policy or LockPolicy()
        session.timeouts = self.policy.timeouts
        # One catalog snapshot of the graph's schemas serves the whole walk.
        session.snapshots.limit_to(
            {obj.schema for obj in graph} | {seed.schema for seed in graph.seeds.values()}
        )
        self.engine = select_engine(session, graph, allow_destructive)
        self.fingerprints = Fingerprints(session, graph)
        # Object (or seed) key -> why it failed or was not run.
        self.failures: dict[ObjectKey, str] = {}

    def blocked_by(self, key: ObjectKey, depends_on: Collection[ObjectKey]) -> ObjectKey | None:
        """The first failed dependency of `key`, recording `key` as not run; else None."""
        failed = sorted(dep for dep in depends_on if dep in self.failures)
        if not failed:
            return None
        self.failures[key] = f"not run: {'/'.join(failed[0])} failed"
        return failed[0]

    def fail(self, key: ObjectKey, error: SchemaError) -> None:
        self.failures[key] = str(error)

    def run(
        self,
        selected: Collection[ObjectKey],
        checked: Collection[ObjectKey] = (),
        fingerprints: Mapping[ObjectKey, Fingerprint] | None = None,
    ) -> Iterator[ObjectResult]:
        """Apply the `selected` objects in order; objects only `checked` are walked in
        their place (so a check sees the engine of that point) but not applied. An
        object as its last check's fingerprint found it is not compared again."""
        fingerprints = fingerprints or {}
        for obj in self.graph:
            if obj.key not in selected and obj.key not in checked:
                continue
            blocker = self.blocked_by(obj.key, obj.depends_on)
            if blocker is not None:
                yield ObjectResult(obj, self.engine, blocked_by=blocker)
                continue
            if obj.key not in selected:
                yield ObjectResult(obj, self.engine)
                continue
            if self.fingerprints.in_place(obj, self.engine, fingerprints.get(obj.key)):
                yield ObjectResult(obj, self.engine, Outcome(Action.UNCHANGED), in_place=True)
                continue
            try:
                outcome = self.apply(obj)
            except SchemaError as error:
                self.fail(obj.key, error)
                yield ObjectResult(obj, self.engine, error=error)
                continue
            if obj.kind == ObjectKind.EXTENSION and outcome.action == Action.CREATED:
                self.engine = select_engine(self.session, self.graph, self.allow_destructive)
            yield ObjectResult(obj, self.engine, outcome)

    def apply(self, obj: SchemaObject) -> Outcome:
        """Apply one object; on a lock timeout its transaction was rolled back: try again
        after a backoff, saying who holds the lock, until its retry budget is spent
        (a dry run does not wait: it fails at once, naming the holder)."""
        policy = self.policy.for_object(obj)
        self.session.timeouts = policy.timeouts
        started = time.monotonic()
        attempt = 0
        try:
            while True:
                try:
                    return self.engine.apply(obj, self.session)
                except LockNotAvailable as error:
                    attempt += 1
                    held = locks.holders(self.session, self.relations(obj))
                    holder = "; ".join(str(h) for h in held) or "no holder found any more"
                    waited = time.monotonic() - started
                    delay = policy.backoff(attempt)
                    if self.session.dry_run or waited + delay > policy.budget_seconds:
                        raise SchemaError(
                            f"lock not granted within lock_timeout {policy.lock_timeout} "
                            f"({attempt} attempt(s) over {waited:.1f}s, retry budget "
                            f"{policy.lock_retry_budget}); held by {holder}",
                            obj.location,
                            obj.describe(),
                        ) from error
                    self.session.log(
                        f"{obj.describe()}: lock not granted within {policy.lock_timeout} "
                        f"(attempt {attempt}), held by {holder}; retrying in {delay:.2f}s"
                    )
                    time.sleep(delay)
        finally:
            self.session.timeouts = self.policy.timeouts

    def relations(self, obj: SchemaObject) -> list[str]:
        """The relations whose locks `obj`'s change waits for, quoted and qualified."""
        names = {obj.name} if obj.kind in RELATION_KINDS else set()
        if obj.relation is not None:
            names.add(obj.relation)
        return [sql.Identifier(obj.schema, name).as_string(self.session.conn) for name in names]

    @contextmanager
    def rolled_back(
        self, lock_timeout: str | None = None, engine: PostgresEngine | None = None
    ) -> Iterator[None]:
        """Everything inside runs in one transaction that is rolled back, and what must
        run after a commit is recorded, not run: a plan, or a check's dry run.
        `lock_timeout` bounds each wait for a lock (planning never queues for long);
        `engine` is the one of the point of the run being checked."""
        current = self.engine
        self.engine = engine or current
        self.session.dry_run = True
        try:
            with (
                self.session.snapshots.discarded(),
                self.session.conn.transaction(force_rollback=True),
            ):
                if lock_timeout:
                    self.session.conn.execute(
                        sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout))
                    )
                yield
        finally:
            self.session.dry_run = False
            self.engine = current  # an extension created inside was rolled back too
