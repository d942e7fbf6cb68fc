-- scan: URL scanning service (document 003_a059dae5fa380dd1.txt). Plain PostgreSQL.
CREATE SCHEMA scan;
