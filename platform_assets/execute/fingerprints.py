"""An object found in place without comparing it again: the fingerprint of its last check.

A passing `in_sync` dry run that read the live catalog only through the run's snapshot
(no other statement, not the time) followed from nothing but the platform's own source,
the server, the role it runs as, the engine, the object's declaration and its neighbours'
in the graph (what it depends on and what belongs to it), and the catalog entries it
read. Its fingerprint is a digest of the first ones (`context`), the entries it read
(`reads`) and a digest of what they held (`state`). A later run that finds the same
context and the same entries holding the same state knows the dry run would find nothing
to do again, so it takes the object as in place without its comparison. Any change to
the declaration, a neighbour's, the platform, or any entry the comparison read (a change
by hand included) makes the digest differ, and the object is compared as usual.

Statements a comparison sends besides the snapshot's reads are counted
(`Session.statements`); those whose answers follow from what the snapshot holds are
marked neutral (`Session.neutral`: a transaction's settings, the server's rendering of
an expression or a view over entries the comparison also read, a report of orphans).
Any other statement, or a look at the clock whose consequences have no known end, means
no fingerprint: the check then keeps its context alone, so that a run can tell a result
worked out by an older platform or against other declarations (and check it again).
Partition upkeep's look at the clock has one: its plan stays the same, the catalog
unchanged, until the current period ends or retention's cutoff passes another bound
(`PartitionPlan.holds_until`); the fingerprint holds until then (`until`), so a no-op
run takes a partitioned table as in place for the rest of its period.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from platform_assets.execute.engines import PostgresEngine
from platform_assets.live.session import Session
from platform_assets.live.snapshot import Read
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey, SchemaObject
from platform_assets.parse.cache import platform_digest


@dataclass(frozen=True)
class Fingerprint:
    context: str  # digest of the platform, server, role, engine and declarations
    reads: tuple[Read, ...] = ()  # the catalog entries the check read
    # Digest of what they held; None where the check read more than the snapshot (or
    # the time, unboundedly): then only its context is kept, to tell when it was worked out.
    state: str | None = None
    # The instant from which the time the check read may decide otherwise (partition
    # upkeep's next period or expiry; stored as ISO 8601); None: it read no time.
    until: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        if self.state is None:
            return {"context": self.context}
        stored = {
            "context": self.context,
            "state": self.state,
            "reads": [[list(read[0]), *read[1:]] for read in self.reads],
        }
        if self.until is not None:
            stored["until"] = self.until.isoformat()
        return stored

    @classmethod
    def from_json(cls, data: Any) -> Fingerprint | None:
        """The fingerprint stored as `as_json` made it; None for anything else."""
        try:
            if "state" not in data:
                return cls(str(data["context"]))
            reads = tuple(
                (tuple(str(s) for s in path), str(catalog), str(schema), str(name))
                for path, catalog, schema, name in data["reads"]
            )
            until = data.get("until")
            return cls(
                str(data["context"]),
                reads,
                str(data["state"]),
                datetime.fromisoformat(until) if until is not None else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass
class Taken:
    """A fingerprint being taken: set once the check is over."""

    fingerprint: Fingerprint | None = None


class Fingerprints:
    """Takes and compares the fingerprints of one graph's objects over one session."""

    def __init__(self, session: Session, graph: SchemaGraph):
        self.session = session
        self.graph = graph
        self._neighbours: dict[ObjectKey, set[ObjectKey]] | None = None
        self._contexts: dict[tuple[ObjectKey, str, str | None], str] = {}

    def context(self, obj: SchemaObject, engine: PostgresEngine) -> str:
        key = (obj.key, engine.name, engine.version)
        if key not in self._contexts:
            self._contexts[key] = self._context(obj, engine)
        return self._contexts[key]

    def _context(self, obj: SchemaObject, engine: PostgresEngine) -> str:
        digest = hashlib.sha256()
        info = self.session.conn.info
        server, role = info.server_version, self.session.current_role
        # The time zone too: the server's date arithmetic (partition bounds) follows it.
        zone = info.parameter_status("TimeZone")
        digest.update(
            repr((platform_digest(), server, role, zone, engine.name, engine.version)).encode()
        )
        for statement in obj.statements:
            annotations = sorted(statement.annotations.items())
            digest.update(
                repr(
                    (statement.text, statement.search_path, statement.settings, annotations)
                ).encode()
            )
        for key in sorted(self.neighbours(obj.key)):
            digest.update(repr((key, self.graph[key].sql)).encode())
        return digest.hexdigest()

    def neighbours(self, key: ObjectKey) -> set[ObjectKey]:
        """The objects whose declarations a comparison of `key` may read: what it depends
        on and what belongs to it (a table's hypertable declaration, its indexes)."""
        if self._neighbours is None:
            neighbours: dict[ObjectKey, set[ObjectKey]] = {
                obj.key: set(obj.depends_on) for obj in self.graph
            }
            for obj in self.graph:
                owner = (obj.schema, obj.relation)
                if obj.relation is not None and owner in neighbours:
                    neighbours[owner].add(obj.key)
            self._neighbours = neighbours
        return {k for k in self._neighbours.get(key, set()) if k in self.graph.objects} - {key}

    @contextmanager
    def taking(self, obj: SchemaObject, engine: PostgresEngine) -> Iterator[Taken]:
        """The fingerprint of the check run inside, once it is over (it reads the catalog
        as the check left it: call it after a rolled-back check's rollback)."""
        session = self.session
        taken = Taken()
        before = self._other_statements(), _unbounded_clock_reads(engine)
        engine.clock_horizon = None
        with session.snapshots.recording() as reads:
            yield taken
        context = self.context(obj, engine)
        if (self._other_statements(), _unbounded_clock_reads(engine)) == before:
            state = session.snapshots.digest(reads)
            taken.fingerprint = Fingerprint(
                context, tuple(sorted(reads)), state, engine.clock_horizon
            )
        else:
            taken.fingerprint = Fingerprint(context)

    def in_place(
        self, obj: SchemaObject, engine: PostgresEngine, fingerprint: Fingerprint | None
    ) -> bool:
        """Whether the object is as its fingerprint's check found it."""
        return (
            fingerprint is not None
            and fingerprint.state is not None
            and (fingerprint.until is None or engine.clock() < fingerprint.until)
            and fingerprint.context == self.context(obj, engine)
            and fingerprint.state == self.session.snapshots.digest(fingerprint.reads)
        )

    def _other_statements(self) -> int:
        """Statements sent other than the snapshot's reads and neutral ones."""
        session = self.session
        return session.statements - session.neutral_statements - session.snapshots.queries


def _unbounded_clock_reads(engine: PostgresEngine) -> int:
    """Looks at the clock whose consequences have no known end."""
    return engine.clock_reads - engine.bounded_clock_reads
