"""What a health check finds about one object, and the names of the checks."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from platform_assets.live.timescale_catalog import POLICY_PROCEDURES
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey, ObjectKind, SchemaObject

CHUNK_HEALTH = "chunk_health"
JOB_HEALTH = "job_health"
AGGREGATE_HEALTH = "aggregate_health"

# A chunk this many times the median of its hypertable's uncompressed chunks (and
# past the size below) is an anomaly: usually a wrong chunk interval or a bulk load.
SIZE_FACTOR = 10
SIZE_FLOOR = 64 * 1024 * 1024
EXAMPLES = 10  # offending chunks named in metadata, per problem

# Job procedure -> the policy kind it runs.
POLICY_PROCS = {procedure: kind for kind, procedure in POLICY_PROCEDURES.items()}


@dataclass
class Finding:
    """One check evaluation on one declared object."""

    key: ObjectKey
    check: str
    problems: list[str]
    metadata: dict[str, object] = field(default_factory=dict)
    # The object whose materialization fixes the problem, when the fix is mechanical.
    fix: ObjectKey | None = None
    # Or the job whose run fixes it (an aggregate's refresh).
    fix_job: str | None = None

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def description(self) -> str:
        if self.problems:
            return "; ".join(self.problems)
        return str(self.metadata.get("reason", "healthy"))

    @property
    def dagster_metadata(self) -> dict[str, object]:
        return {"problems": dg.MetadataValue.json(self.problems), **self.metadata}


def of_kind(graph: SchemaGraph, kind: ObjectKind) -> list[SchemaObject]:
    return [obj for obj in graph if obj.kind == kind]
