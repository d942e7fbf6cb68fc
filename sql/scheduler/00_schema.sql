-- scheduler: birthday message scheduler (document 001_85fa6c9b3616a42c.txt). Plain PostgreSQL.
CREATE SCHEMA scheduler;
