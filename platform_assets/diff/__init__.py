"""Declarative evolution: the difference between an existing object and its declaration.

For a table that exists, the live catalog is compared with the declared CREATE
TABLE (parsed with sqlglot; columns compared by columns.py, the same code the
`in_sync` check uses) and the difference becomes ALTER statements composed with
psycopg.sql. A change that can lose data (dropping a column, narrowing a type, a
type change that rewrites and can fail) is refused unless the object is allowed
destructive changes explicitly, with a message saying what would be lost.

Indexes, views and triggers whose definition changed are replaced in the
object's transaction. Objects that live in a declared schema but are no longer
declared are reported as orphans, never dropped.

Modules: `guard` (what counts as destructive, and the refusal), `table_columns`
(column ALTERs), `constraints`, `replacements` (indexes, views, triggers),
`rendering` (how the server renders a declaration, without DDL), `hypertables` (what
TimescaleDB refuses on a hypertable with columnstore, and how a type change is made
there) and `orphans`.
"""
