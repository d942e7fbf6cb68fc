"""Where `platform import` writes each object: pure rules over a compiled graph."""

from __future__ import annotations

from platform_assets.adopt.layout import project_files
from tests.support.project import Project

SCHEMA = """\
CREATE SCHEMA s;
CREATE TYPE s.state AS ENUM ('a', 'b');
CREATE FUNCTION s.is_a(v s.state) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT v = 'a' $$;
CREATE FUNCTION s.positive(v integer) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT v > 0 $$;
CREATE DOMAIN s.amount AS integer CHECK (s.positive(VALUE));
CREATE TABLE s.t (id integer PRIMARY KEY, a s.amount);
CREATE TABLE s.u (id integer PRIMARY KEY);
CREATE INDEX t_a ON s.t (a);
COMMENT ON TABLE s.t IS 'kept';
CREATE VIEW s.v AS SELECT id FROM s.t;
CREATE SCHEMA public_too;
"""


def layout(project: Project) -> dict[str, list[str]]:
    project.write("sql/schema.sql", SCHEMA)
    files = project_files(project.graph(), "-- header")
    return {str(path): text.split("\n\n") for path, text in files.items()}


def test_each_kind_has_its_file_and_a_function_using_a_type_follows_it(project: Project):
    files = layout(project)
    assert set(files) == {
        "s/00_schema.sql",
        "s/10_functions.sql",
        "s/20_types.sql",
        "s/30_tables.sql",
        "s/40_views.sql",
        "public_too/00_schema.sql",
    }
    assert files["s/10_functions.sql"] == [
        "-- header\nCREATE FUNCTION s.positive(v integer) RETURNS boolean LANGUAGE sql "
        "IMMUTABLE\n    AS $$ SELECT v > 0 $$;\n"
    ]
    types = "\n\n".join(files["s/20_types.sql"])
    # The domain calls s.positive, written before it; is_a takes s.state, so follows it.
    assert types.index("CREATE TYPE s.state") < types.index("CREATE FUNCTION s.is_a")
    assert "CREATE DOMAIN s.amount" in types


def test_a_table_is_followed_by_its_indexes_and_completions(project: Project):
    blocks = layout(project)["s/30_tables.sql"]
    assert blocks[0].startswith("-- header\nCREATE TABLE s.t")
    assert blocks[0].endswith("COMMENT ON TABLE s.t IS 'kept';")
    assert blocks[1] == "CREATE INDEX t_a ON s.t (a);"
    assert blocks[2].startswith("CREATE TABLE s.u")


def test_an_annotation_is_written_above_its_object(project: Project):
    project.write("sql/schema.sql", SCHEMA)
    files = project_files(project.graph(), "--", {("s", "u"): 'partition_interval="1 day"'})
    text = next(text for path, text in files.items() if path.name == "30_tables.sql")
    assert '-- platform: partition_interval="1 day"\nCREATE TABLE s.u' in text
