-- analytics: analytics hub (document 004_934d850c0fd6ecd1.txt).
CREATE SCHEMA analytics;
