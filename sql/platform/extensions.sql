-- TimescaleDB for the hypertables, policies and continuous aggregates of every system.
-- On plain PostgreSQL the platform reports it as unavailable and falls back to native partitioning.
CREATE EXTENSION IF NOT EXISTS timescaledb;
