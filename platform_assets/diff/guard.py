"""The guard: a change that can lose data, or rewrites a table holding rows, runs only when allowed.

Both are allowed per object by the one `allow_destructive` run config ("allow
destructive or rewriting changes"). A rewrite holds ACCESS EXCLUSIVE for as long
as it copies the table, so on a table in use it is an outage; on an empty table it
copies nothing and is no hazard (LOCKS.md, ALTER COLUMN TYPE and ADD COLUMN).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from platform_assets.live import catalog
from platform_assets.live.session import Session
from platform_assets.model.errors import SchemaError
from platform_assets.model.hazards import Hazard, PlannedStatement
from platform_assets.model.naming import asset_key_part
from platform_assets.model.objects import SchemaObject


def allow_hint(obj: SchemaObject) -> str:
    """How to allow `obj`'s destructive changes in a materialization (or a plan)."""
    key = "/".join(asset_key_part(part) for part in obj.key)  # its asset key, as typed
    return (
        f'to allow it, run with config {{"ops": {{"schema_objects": {{"config": '
        f'{{"allow_destructive": ["{key}"]}}}}}}}} (platform plan --allow-destructive {key})'
    )


class RefusedChange(SchemaError):
    """A change refused until allowed; `statements`: what it would have run, as the
    server would receive them (a plan lists them as refused)."""

    def __init__(self, message: str, obj: SchemaObject, statements: list[PlannedStatement]):
        super().__init__(message, obj.location, obj.describe())
        self.statements = statements


@dataclass
class Change:
    """Statements that bring one aspect of an object to its declaration."""

    statements: list[PlannedStatement]
    # What would be lost, when the change is destructive.
    loss: str | None = None
    # How to make it without rewriting the table, when its statements rewrite it.
    online_way: str | None = None

    def planned(self) -> list[PlannedStatement]:
        """The statements, each marked as deleting data when the change loses some."""
        if not self.loss:
            return self.statements
        return [statement.with_hazards(Hazard.DELETES_DATA) for statement in self.statements]


def refuse_destructive(
    obj: SchemaObject, changes: list[Change], allowed: bool, hint: str | None = None
) -> list[str]:
    """Raise unless allowed (saying how: `hint`, else the run config's way); return what
    the allowed destructive changes lose."""
    losses = [c.loss for c in changes if c.loss]
    if losses and not allowed:
        raise SchemaError(
            "refused destructive change(s): "
            + "; ".join(losses)
            + "; "
            + (hint if hint is not None else allow_hint(obj)),
            obj.location,
            obj.describe(),
        )
    return losses


def refuse_rewrites(
    obj: SchemaObject, changes: list[Change], session: Session, allowed: bool
) -> tuple[list[Change], list[str]]:
    """The changes, and the rewrites they make when allowed; raise, naming each rewriting
    statement, unless allowed. On a table without rows a rewrite copies nothing: its
    statements lose the hazard and run."""
    rewriting = [
        (change, statement)
        for change in changes
        for statement in change.statements
        if Hazard.TABLE_REWRITE in statement.hazards
    ]
    if not rewriting:
        return changes, []
    if not catalog.holds_rows(session, obj.schema, obj.name):
        return [_without_rewrite(change) for change in changes], []
    described = [
        f"{statement.text(session.conn)} [{statement.lock.value}] [TABLE REWRITE]"
        + (f" (online: {change.online_way})" if change.online_way else "")
        for change, statement in rewriting
    ]
    if not allowed:
        raise RefusedChange(
            f"refused table rewrite(s): {obj.qualified_name} holds rows, and "
            + "; ".join(described)
            + " would copy the whole table while holding ACCESS EXCLUSIVE, blocking its "
            "reads and writes until done; " + allow_hint(obj),
            obj,
            [replace(statement, sql=statement.text(session.conn)) for _, statement in rewriting],
        )
    return changes, described


def _without_rewrite(change: Change) -> Change:
    statements = [
        replace(statement, hazards=statement.hazards - {Hazard.TABLE_REWRITE})
        for statement in change.statements
    ]
    return replace(change, statements=statements)
