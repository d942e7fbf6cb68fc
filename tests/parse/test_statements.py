"""Reading pg_dump's session lines: search_path in every spelling, DDL settings, psql lines."""

from __future__ import annotations

from tests.support.project import Project


def test_session_lines_set_the_path_and_the_settings_of_what_follows(project: Project):
    project.write(
        "sql/dump.sql",
        "\\restrict Hx1sNQ7dVkcLbJX9\n"
        "SET check_function_bodies = false;\n"
        "SET statement_timeout = 0;\n"
        "CREATE SCHEMA shop;\n"
        'SET search_path TO "$user", shop;\n'
        "CREATE TABLE orders (id int);\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE FUNCTION public.at_hour(timestamp with time zone) RETURNS timestamp with time "
        "zone LANGUAGE sql IMMUTABLE AS $$ SELECT date_trunc('hour', $1) $$;\n"
        "\\unrestrict Hx1sNQ7dVkcLbJX9\n",
    )
    graph = project.graph()
    orders = graph[("shop", "orders")]
    assert orders.definition.search_path == ("shop",)
    # Settings that change what DDL does travel with the statement; timeouts do not.
    assert dict(orders.definition.settings) == {"check_function_bodies": "off"}
    assert ("public", "function", "at_hour") in graph.objects
