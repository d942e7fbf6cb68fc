"""A PostgreSQL/TimescaleDB schema owned as Dagster assets."""
