"""What applying one object produces, whatever the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from platform_assets.model.hazards import PlannedStatement

# A refresh window [start, end) of a continuous aggregate.
Window = tuple[datetime, datetime]


class Action(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_APPLICABLE = "not applicable on this engine"


@dataclass
class Outcome:
    action: Action
    # What ran (or would run, planning), each with its lock level and hazards.
    executed: list[PlannedStatement] = field(default_factory=list)
    # Engine-specific facts shown as asset metadata (chunk interval, job id, ...).
    details: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    # Statements PostgreSQL forbids inside a transaction (refreshing a continuous
    # aggregate): run after the object's transaction commits, each safe to repeat.
    after_commit: list[PlannedStatement] = field(default_factory=list)
    # Then run together in one more transaction (the swap of a rebuilt aggregate).
    after_commit_transaction: list[PlannedStatement] = field(default_factory=list)
