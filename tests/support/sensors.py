"""One tick of a health sensor, and the check evaluations it reported."""

from __future__ import annotations

import dagster as dg

from platform_assets.dagster.resources import SchemaDatabase
from platform_assets.dagster.sensors import build_health_sensors
from platform_assets.model.graph import SchemaGraph


def sensor_tick(graph: SchemaGraph, url: str, name: str = "chunk_health_sensor") -> dg.SensorResult:
    sensor = next(s for s in build_health_sensors(graph) if s.name == name)
    context = dg.build_sensor_context(resources={"database": SchemaDatabase(url=url)})
    return sensor(context)


def evaluations(result: dg.SensorResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """(asset key path, check name) -> evaluation."""
    return {("/".join(e.asset_key.path), e.check_name): e for e in result.asset_events}
