"""Timeouts and retry: a schema change never makes the application queue behind it for long.

A statement that waits for a lock makes every later query on that table wait
behind it (LOCKS.md, "The lock queue"). So every statement runs under
`lock_timeout` (the application waits at most that long behind it) and a
`statement_timeout` sized to its class: changes that take a lock on a table in
use but only touch the catalog get a short one; index builds, scans, rewrites
and statements run after the commit get a long one. When the lock is not
granted in time (SQLSTATE 55P03) the object's transaction is rolled back and
tried again after an exponential backoff with jitter, until the object's retry
budget is spent; the run then fails naming who holds the lock.

Defaults are production ones; a run sets its own in run config, an object in an
annotation above its statement: `-- platform: lock_timeout=500ms lock_retry_budget=5min`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace

from platform_assets.model.errors import SchemaError
from platform_assets.model.hazards import Hazard, LockLevel, PlannedStatement
from platform_assets.model.objects import SchemaObject

# Hazards whose statements run as long as the table is large.
LONG_HAZARDS = frozenset({Hazard.INDEX_BUILD, Hazard.FULL_SCAN, Hazard.TABLE_REWRITE})
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def duration_seconds(text: str) -> float:
    """A duration as PostgreSQL settings spell it ('500ms', '2s', '1min', '1h'; a bare
    number is milliseconds, as for lock_timeout) in seconds."""
    value = text.strip().lower()
    unit = value.lstrip("0123456789.").strip()
    number = value[: len(value) - len(value.lstrip("0123456789."))]
    if not number or (unit and unit not in _UNIT_SECONDS):
        raise ValueError(f"unreadable duration {text!r} (write e.g. 500ms, 2s, 1min, 1h)")
    return float(number) * (_UNIT_SECONDS[unit] if unit else 0.001)


@dataclass(frozen=True)
class LockPolicy:
    """How long a statement may wait for its lock and run, and how long an object retries."""

    lock_timeout: str = "1s"
    # Statements that lock a table in use but change only the catalog.
    statement_timeout: str = "1min"
    # Index builds, validations, rewrites, statements run after commit, new objects, seeds.
    long_statement_timeout: str = "1h"
    # Total time one object may spend retrying after lock timeouts.
    lock_retry_budget: str = "2min"
    first_backoff: float = 0.2  # seconds, doubled on each retry
    max_backoff: float = 10.0

    def __post_init__(self) -> None:
        for name in ("lock_timeout", "statement_timeout", "long_statement_timeout"):
            duration_seconds(getattr(self, name))
        duration_seconds(self.lock_retry_budget)

    def for_object(self, obj: SchemaObject) -> LockPolicy:
        """This policy with the object's own annotations (`-- platform: lock_timeout=...`)."""
        names = {field.name for field in fields(self) if isinstance(field.default, str)}
        own = {key: value for key, value in obj.annotations.items() if key in names}
        if not own:
            return self
        try:
            return replace(self, **own)
        except ValueError as error:
            raise SchemaError(f"annotation: {error}", obj.location, obj.describe()) from error

    @property
    def budget_seconds(self) -> float:
        return duration_seconds(self.lock_retry_budget)

    def timeouts(self, statement: PlannedStatement) -> tuple[str, str]:
        """(lock_timeout, statement_timeout) for one statement. Only a statement whose
        lock blocks writes makes others queue behind it while it waits; one that blocks
        neither (a concurrent build waiting for older transactions, a refresh, a job)
        may wait as long as it may run."""
        catalog_only = (
            statement.lock != LockLevel.NONE
            and not statement.outside_transaction
            and not statement.hazards & LONG_HAZARDS
        )
        runs_for = self.statement_timeout if catalog_only else self.long_statement_timeout
        if not statement.lock.blocks_writes:
            return runs_for, runs_for
        return self.lock_timeout, runs_for

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry `attempt` (1, 2, ...): exponential, with jitter so
        two runs waiting on the same lock do not retry in step."""
        ceiling = min(self.max_backoff, self.first_backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)
