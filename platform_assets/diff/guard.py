"""The destructive-change guard: a change that can lose data runs only when allowed."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Change:
    """Statements that bring one aspect of an object to its declaration."""

    statements: list[PlannedStatement]
    # What would be lost, when the change is destructive.
    loss: str | None = None

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
