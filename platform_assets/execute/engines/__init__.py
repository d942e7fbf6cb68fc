"""Engines apply declared objects to a live database; one place picks which engine runs."""

from __future__ import annotations

from platform_assets.execute.engines.base import Action, Outcome
from platform_assets.execute.engines.postgres import PostgresEngine
from platform_assets.live.session import Session
from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import ObjectKey

__all__ = ["Action", "Outcome", "PostgresEngine", "select_engine"]


def select_engine(
    session: Session, graph: SchemaGraph, allow_destructive: frozenset[ObjectKey] = frozenset()
) -> PostgresEngine:
    """The engine for this server: TimescaleDB when it is installed or can be.

    `allow_destructive`: the objects whose changes may lose data (run config)."""
    version = session.snapshot.extension_version("timescaledb")
    if version:
        from platform_assets.execute.engines.timescale import TimescaleEngine

        engine = TimescaleEngine(graph, allow_destructive)
        engine.version = version
        return engine
    return PostgresEngine(graph, allow_destructive)
