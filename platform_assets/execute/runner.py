"""The one runner: materialize, plan, the in_sync check and the jobs all apply objects here.

It walks the selected objects in dependency order, skips the dependents of an
object that failed (its siblings still run), picks the engine once and again
after the TimescaleDB extension is created, and yields one result per object.
Planning and checking run the same code inside a transaction that is always
rolled back (`rolled_back`), so a plan is exactly what a run executes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg import sql

from platform_assets.execute.engines import Action, Outcome, PostgresEngine, select_engine
from platform_assets.live.session import Session
from platform_assets.model.errors import SchemaError
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey, ObjectKind, SchemaObject


@dataclass
class ObjectResult:
    """What happened to one object of the walk."""

    obj: SchemaObject
    engine: PostgresEngine  # the engine in use once the object was applied
    outcome: Outcome | None = None  # None: walked but not applied, or failed
    error: SchemaError | None = None
    blocked_by: ObjectKey | None = None  # the failed object it depends on

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
    ):
        self.session = session
        self.graph = graph
        self.allow_destructive = allow_destructive
        self.engine = select_engine(session, graph, allow_destructive)
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
        self, selected: Collection[ObjectKey], checked: Collection[ObjectKey] = ()
    ) -> Iterator[ObjectResult]:
        """Apply the `selected` objects in order; objects only `checked` are walked in
        their place (so a check sees the engine of that point) but not applied."""
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
            try:
                outcome = self.engine.apply(obj, self.session)
            except SchemaError as error:
                self.fail(obj.key, error)
                yield ObjectResult(obj, self.engine, error=error)
                continue
            if obj.kind == ObjectKind.EXTENSION and outcome.action == Action.CREATED:
                self.engine = select_engine(self.session, self.graph, self.allow_destructive)
            yield ObjectResult(obj, self.engine, outcome)

    @contextmanager
    def rolled_back(self, lock_timeout: str | None = None) -> Iterator[None]:
        """Everything inside runs in one transaction that is rolled back, and what must
        run after a commit is recorded, not run: a plan, or a check's dry run.
        `lock_timeout` bounds each wait for a lock (planning never queues for long)."""
        engine = self.engine
        self.session.dry_run = True
        try:
            with self.session.conn.transaction(force_rollback=True):
                if lock_timeout:
                    self.session.conn.execute(
                        sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout))
                    )
                yield
        finally:
            self.session.dry_run = False
            self.engine = engine  # an extension created inside was rolled back too
