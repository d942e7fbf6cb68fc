"""The destructive-change guard: a change that can lose data runs only when allowed."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import SchemaObject


def allow_hint(obj: SchemaObject) -> str:
    key = "/".join(obj.key)
    return (
        f'to allow it, run with config {{"ops": {{"schema_objects": {{"config": '
        f'{{"allow_destructive": ["{key}"]}}}}}}}} (platform plan --allow-destructive {key})'
    )


@dataclass
class Change:
    """Statements that bring one aspect of an object to its declaration."""

    statements: list[sql.Composable]
    # What would be lost, when the change is destructive.
    loss: str | None = None


def refuse_destructive(obj: SchemaObject, changes: list[Change], allowed: bool) -> list[str]:
    """Raise unless allowed; return what the allowed destructive changes lose."""
    losses = [c.loss for c in changes if c.loss]
    if losses and not allowed:
        raise SchemaError(
            "refused destructive change(s): " + "; ".join(losses) + "; " + allow_hint(obj),
            obj.location,
            obj.describe(),
        )
    return losses
