"""The compiled graph's cache: used while `sql/` and `seeds/` are unchanged, never wrong."""

from __future__ import annotations

import pytest
from sqlglot import exp

from platform_assets.model.errors import SchemaErrors
from platform_assets.parse.cache import CACHE_DIR, _read, compile_project, project_key

SCHEMA = """CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer bigint REFERENCES shop.customers (id));
CREATE INDEX idx_orders_customer ON shop.orders (customer);
"""


def entries(project) -> list:
    return sorted((project.root / CACHE_DIR).glob("graph-*.pickle"))


def keys(graph) -> set[str]:
    return {"/".join(obj.key) for obj in graph} | {"/".join(key) for key in graph.seeds}


def test_a_second_load_reads_the_graph_from_the_cache(project):
    project.write("sql/shop.sql", SCHEMA)
    compiled = compile_project(project.root)
    [entry] = entries(project)
    cached = _read(entry, project_key(project.root))
    assert cached is not None
    assert cached == compiled == project.graph()
    assert compile_project(project.root) == compiled
    assert entries(project) == [entry]


def test_a_cached_graph_keeps_the_tokens_of_every_bare_command(project):
    """Tokens are not part of a statement's equality; readers of a cached graph use those
    of a bare Command (access statements, domain checks), so they come back as the
    tokenizer made them; the other statements' are not stored."""
    project.write(
        "sql/shop.sql",
        "-- platform: owners=team:shop\n"
        + SCHEMA
        + "CREATE DOMAIN shop.positive AS int CHECK (VALUE > 0);\n"
        + "ALTER TABLE shop.orders OWNER TO CURRENT_USER;\n",
    )
    compiled = compile_project(project.root)
    [entry] = entries(project)
    cached = _read(entry, project_key(project.root))

    def tokens(graph, commands: bool) -> list[tuple]:
        return [
            (t.token_type, t.text, t.line, t.col, t.start, t.end, t.comments)
            for obj in graph
            for statement in obj.statements
            if isinstance(statement.tree, exp.Command) == commands
            for t in statement.tokens
        ]

    assert tokens(cached, commands=True) == tokens(compiled, commands=True)
    assert len(tokens(cached, commands=True)) > 10  # the domain's and the OWNER TO's
    assert tokens(compiled, commands=False) and not tokens(cached, commands=False)


def test_an_edited_sql_file_is_compiled_again(project):
    path = project.write("sql/shop.sql", SCHEMA)
    assert "shop/orders/idx_orders_customer" in keys(compile_project(project.root))
    path.write_text(SCHEMA.replace("CREATE INDEX idx_orders_customer", "CREATE INDEX idx_by"))
    edited = keys(compile_project(project.root))
    assert "shop/orders/idx_by" in edited
    assert "shop/orders/idx_orders_customer" not in edited
    assert len(entries(project)) == 1, "the stale entry is removed"


def test_an_added_seed_file_is_seen(project):
    project.write("sql/shop.sql", SCHEMA)
    assert not compile_project(project.root).seeds
    project.write("seeds/shop/customers.csv", "id,name\n1,Ada\n")
    assert "shop/seed/customers" in keys(compile_project(project.root))


def test_a_corrupt_entry_is_ignored_and_replaced(project):
    project.write("sql/shop.sql", SCHEMA)
    compiled = compile_project(project.root)
    [entry] = entries(project)
    entry.write_bytes(entry.read_bytes()[:100])
    assert compile_project(project.root) == compiled
    assert _read(entry, project_key(project.root)) == compiled


def test_an_entry_stored_under_another_key_is_not_used(project):
    path = project.write("sql/shop.sql", SCHEMA)
    compile_project(project.root)
    [old] = entries(project)
    path.write_text(SCHEMA + "CREATE TABLE shop.refunds (id bigint PRIMARY KEY);\n")
    # The old graph under the new key's name, as a copied or restored directory might hold.
    new_name = old.with_name(f"graph-{project_key(project.root)}.pickle")
    old.rename(new_name)
    assert "shop/refunds" in keys(compile_project(project.root))


def test_a_failing_compile_is_not_cached_and_fails_every_time(project):
    project.write(
        "sql/shop.sql", SCHEMA + "CREATE TABLE shop.lines (o bigint REFERENCES shop.x (id));\n"
    )
    for _ in range(2):
        with pytest.raises(SchemaErrors, match="shop.x"):
            compile_project(project.root)
    assert entries(project) == []


def test_an_unwritable_cache_directory_means_no_cache(project):
    project.write("sql/shop.sql", SCHEMA)
    (project.root / ".platform").write_text("not a directory")
    assert compile_project(project.root) == project.graph()


def test_two_schemas_of_one_project_keep_their_own_entries(project):
    """Two component instances of one project (sql/orders, sql/metrics): loading one never
    evicts the other's entry, and each is its own graph."""
    project.write("sql/orders/shop.sql", SCHEMA)
    project.write("sql/metrics/stats.sql", "CREATE SCHEMA stats;\n")
    dirs = {
        name: (project.root / "sql" / name, project.root / "seeds" / name)
        for name in ("orders", "metrics")
    }
    graphs = {name: compile_project(project.root, *pair) for name, pair in dirs.items()}
    stored = sorted((project.root / CACHE_DIR).rglob("graph-*.pickle"))
    assert len(stored) == 2
    for name, pair in dirs.items():
        assert compile_project(project.root, *pair) == graphs[name]
    assert sorted((project.root / CACHE_DIR).rglob("graph-*.pickle")) == stored
    assert "shop/orders" in keys(graphs["orders"])
    assert keys(graphs["metrics"]) == {"stats/schema"}
