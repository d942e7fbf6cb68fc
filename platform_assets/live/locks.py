"""Who holds the locks a schema change waits for, from pg_locks and pg_stat_activity."""

from __future__ import annotations

from dataclasses import dataclass

from platform_assets.live.session import Session

_HOLDERS = """
SELECT DISTINCT ON (a.pid) a.pid, a.application_name, a.state,
       extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::float AS seconds,
       a.query, l.mode, l.relation::regclass::text AS relation
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid()
  AND l.relation IN (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)
ORDER BY a.pid, seconds DESC
"""


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str
    state: str
    seconds: float  # how long its transaction (or query) has been open
    query: str
    mode: str
    relation: str

    def __str__(self) -> str:
        query = " ".join(self.query.split())
        query = query if len(query) <= 200 else query[:197] + "..."
        return (
            f"pid {self.pid} (application_name {self.application_name!r}, {self.state}, "
            f"for {self.seconds:.1f}s, {self.mode} on {self.relation}): {query}"
        )


def holders(session: Session, relations: list[str]) -> list[LockHolder]:
    """Other backends holding a lock on any of `relations` (qualified names), the
    longest-running first."""
    if not relations:
        return []
    rows = session.rows(_HOLDERS, (relations,))
    found = [LockHolder(**row) for row in rows]
    return sorted(found, key=lambda holder: -holder.seconds)
