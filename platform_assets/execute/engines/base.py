"""What applying one object produces, whatever the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_APPLICABLE = "not applicable on this engine"


@dataclass
class Outcome:
    action: Action
    executed: list[str] = field(default_factory=list)
    # Engine-specific facts shown as asset metadata (chunk interval, job id, ...).
    details: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    # Statements PostgreSQL forbids inside a transaction (refreshing a continuous
    # aggregate): run after the object's transaction commits, each safe to repeat.
    after_commit: list[str] = field(default_factory=list)
    # Then run together in one more transaction (the swap of a rebuilt aggregate).
    after_commit_transaction: list[str] = field(default_factory=list)
    # Statements that lose data, run because the object was allowed destructive changes.
    destructive: list[str] = field(default_factory=list)
