-- unity: plugin monitoring (document 002_f070e1105b91ccfd.txt). Runs with or without
-- TimescaleDB: on plain PostgreSQL the platform partitions the two hypertables natively.
CREATE SCHEMA unity;
