"""A PostgreSQL/TimescaleDB schema owned as Dagster assets."""

from __future__ import annotations

# `platform_assets.SchemaComponent` is the component's type in a `defs.yaml`; it is imported
# on first use so the package's other modules (the CLI, settings) do not load Dagster.
__all__ = ["SchemaComponent"]


def __getattr__(name: str) -> object:
    if name == "SchemaComponent":
        from platform_assets.dagster.component import SchemaComponent

        return SchemaComponent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
