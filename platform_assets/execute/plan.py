"""`platform plan`: the exact SQL a materialization would run, found by running it and rolling back.

Every selected object is applied by the real engine inside one transaction that
is always rolled back, so later objects see what earlier ones would have
created and the plan is exactly what a run would execute. Statements the
server forbids in a transaction (refreshing an aggregate) are listed, not run.
A dry run takes the locks the change would take, briefly; `lock_timeout` bounds
the wait so planning never queues behind live traffic for long.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from platform_assets.diff.guard import RefusedChange
from platform_assets.diff.orphans import Orphan, orphans
from platform_assets.execute.runner import ObjectResult, Runner
from platform_assets.live.session import Session
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.hazards import Hazard, LockLevel, PlannedStatement
from platform_assets.model.objects import ObjectKey, ObjectKind

PLAN_LOCK_TIMEOUT = "5s"


def marks(statement: PlannedStatement) -> list[str]:
    """A statement's lock level (when it takes one others notice), its hazards, and
    whether it runs after the object's transaction."""
    labels = [] if statement.lock == LockLevel.NONE else [statement.lock.value]
    labels += [hazard.value.upper() for hazard in Hazard if hazard in statement.hazards]
    if statement.outside_transaction:
        labels.append("AFTER COMMIT")
    return labels


@dataclass
class PlannedStep:
    key: ObjectKey
    description: str
    action: str
    statements: list[PlannedStatement] = field(default_factory=list)
    error: str | None = None
    # What a refused change would run (a rewrite not allowed): shown, never counted.
    refused: list[PlannedStatement] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.statements)


@dataclass
class Plan:
    steps: list[PlannedStep]
    engine: str
    # Live objects in a declared schema that nothing declares: reported, never dropped.
    orphans: list[Orphan] = field(default_factory=list)

    @property
    def pending(self) -> list[PlannedStep]:
        return [s for s in self.steps if s.changes or s.error]

    @property
    def failed(self) -> bool:
        return any(s.error for s in self.steps)

    def exit_code(self) -> int:
        """For CI: 0 nothing to do, 2 changes pending, 1 error."""
        if self.failed:
            return 1
        return 2 if any(s.changes for s in self.steps) else 0

    def render(self) -> str:
        lines = [f"engine: {self.engine}"]
        for step in self.pending:
            lines.append(f"{'/'.join(step.key)}: {step.action} ({step.description})")
            if step.error:
                lines.append(f"    ERROR {step.error}")
            shown = [(st, []) for st in step.statements]
            shown += [(st, ["REFUSED"]) for st in step.refused]
            for statement, refused in shown:
                labels = "".join(f"[{label}] " for label in [*refused, *marks(statement)])
                body = str(statement.sql).rstrip(";").replace("\n", "\n      ")
                note = f"  -- {statement.note}" if statement.note else ""
                lines.append(f"    {labels}{body};{note}")
        lines.extend(f"orphan: {orphan} is not declared in sql/ (kept)" for orphan in self.orphans)
        changed = sum(1 for s in self.steps if s.changes)
        destructive = sum(1 for s in self.steps for st in s.statements if st.deletes_data)
        unchanged = sum(1 for s in self.steps if not s.changes and not s.error)
        errors = sum(1 for s in self.steps if s.error)
        lines.append(
            f"plan: {changed} object(s) to change, {destructive} destructive statement(s), "
            f"{unchanged} unchanged, {errors} error(s)"
        )
        return "\n".join(lines)


def make_plan(
    graph: SchemaGraph,
    session: Session,
    keys: set[ObjectKey] | None = None,
    allow_destructive: frozenset[ObjectKey] = frozenset(),
) -> Plan:
    """What materializing `keys` (every object when None) would execute, found by
    running it in a transaction that is rolled back."""
    runner = Runner(session, graph, allow_destructive)
    steps: list[PlannedStep] = []
    with runner.rolled_back(lock_timeout=PLAN_LOCK_TIMEOUT):
        selected = [obj.key for obj in graph] if keys is None else keys
        for result in runner.run(selected):
            steps.append(planned_step(result))
        engine_name = runner.engine.name
        schemas = {obj.name for obj in graph if obj.kind == ObjectKind.SCHEMA}
        if keys is not None:
            schemas &= {key[0] for key in keys}
        found = orphans(session, graph, schemas)
    return Plan(steps, engine_name, found)


def planned_step(result: ObjectResult) -> PlannedStep:
    step = PlannedStep(result.obj.key, result.obj.describe(), "")
    if result.blocked_by is not None:
        step.action, step.error = "blocked", "an object it depends on fails"
    elif result.error is not None:
        step.action, step.error = "error", str(result.error)
        if isinstance(result.error, RefusedChange):
            step.action, step.refused = "refused", result.error.statements
    elif result.outcome is not None:
        step.action = result.outcome.action.value
        step.statements = result.outcome.executed
    return step
