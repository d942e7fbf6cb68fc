"""`platform lint`: each rule fires on the mistake it names, with file and line, and can be
disabled per statement; rules that need the live catalog read it."""

from __future__ import annotations

from platform_assets.dagster.assets import build_schema_assets
from platform_assets.lint.rules import LiveFacts, lint_graph
from platform_assets.live.session import Session
from platform_assets.parse.compiler import compile_files
from tests.support.cli import platform
from tests.support.project import REPO

HYPERTABLES = """\
CREATE TABLE events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    timestamp TIMESTAMPTZ NOT NULL,
    tenant_id VARCHAR(100) NOT NULL
);
SELECT create_hypertable('events', 'timestamp', chunk_time_interval => INTERVAL '1 day');
SELECT add_dimension('events', 'tenant_id', number_partitions => 4);
SELECT add_compression_policy('events', INTERVAL '7 days');
SELECT add_retention_policy('events', INTERVAL '3 days');
CREATE TABLE correlations (
    id UUID NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    primary_event_id UUID NOT NULL,
    FOREIGN KEY (primary_event_id) REFERENCES events(id)
);
SELECT create_hypertable('correlations', 'timestamp');
CREATE MATERIALIZED VIEW events_hourly WITH (timescaledb.continuous) AS
SELECT time_bucket('1 hour', timestamp) AS bucket, tenant_id, count(DISTINCT id) AS n
FROM events GROUP BY bucket, tenant_id;
SELECT add_continuous_aggregate_policy('events_hourly',
    start_offset => INTERVAL '4 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '1 hour');
CREATE MATERIALIZED VIEW events_daily WITH (timescaledb.continuous) AS
SELECT time_bucket('1 day', timestamp) AS bucket, count(*) AS n FROM events GROUP BY bucket;
SELECT add_continuous_aggregate_policy('events_daily',
    start_offset => INTERVAL '2 days', end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '1 hour');
CREATE TABLE asset_metadata (
    asset_id VARCHAR(100) PRIMARY KEY,
    tenant_id VARCHAR(100) NOT NULL,
    INDEX idx_asset_tenant (tenant_id)
);
"""


def lint(project, text: str, live: LiveFacts | None = None) -> list[str]:
    path = project.write("original.sql", text)
    graph = compile_files([path], project.root, lenient=True)
    return [f"{f.location.line} {f.rule.id}" for f in lint_graph(graph, live)]


def test_each_timescale_and_postgres_mistake_is_found_on_its_line(project):
    found = lint(project, HYPERTABLES)
    assert "2 TS001" in found  # id UUID PRIMARY KEY: no time or tenant column
    assert "14 TS002" in found  # correlations -> events(id)
    assert "8 TS003" in found  # compression policy, no compression settings
    assert "25 TS004" in found  # 2 days - 1 day < two 1-day buckets
    assert "20 TS005" in found  # start_offset 4 days >= drop_after 3 days
    assert "17 TS006" in found  # count(DISTINCT ...)
    assert "31 PG001" in found  # MySQL inline INDEX
    assert len(found) == 7, found


def test_a_statement_can_disable_a_rule(project):
    text = HYPERTABLES.replace(
        "SELECT add_compression_policy",
        "-- platform: lint_disable=TS003\nSELECT add_compression_policy",
    )
    assert not any(f.endswith("TS003") for f in lint(project, text))


def test_correct_sql_is_clean(project):
    text = """\
CREATE SCHEMA a;
CREATE TABLE a.events (id uuid NOT NULL, ts timestamptz NOT NULL, PRIMARY KEY (id, ts));
SELECT create_hypertable('a.events', by_range('ts', INTERVAL '1 day'));
ALTER TABLE a.events SET (timescaledb.compress, timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('a.events', compress_after => INTERVAL '7 days');
SELECT add_retention_policy('a.events', drop_after => INTERVAL '30 days');
CREATE MATERIALIZED VIEW a.hourly WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', e.ts) AS bucket, count(*) AS n FROM a.events e GROUP BY 1
WITH NO DATA;
SELECT add_continuous_aggregate_policy('a.hourly', start_offset => INTERVAL '3 hours',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
"""
    assert lint(project, text) == []


def test_populated_table_rules_read_the_live_catalog(project, database):
    with database.connect() as conn:
        conn.execute("CREATE TABLE public.orders (id int PRIMARY KEY, amount int)")
        conn.execute("INSERT INTO public.orders VALUES (1, 10)")
    text = """\
CREATE TABLE public.orders (id int PRIMARY KEY, amount int);
ALTER TABLE public.orders ADD COLUMN note text NOT NULL;
ALTER TABLE public.orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE public.orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);
CREATE INDEX idx_orders_amount ON public.orders (amount);
"""
    with database.connect() as conn:
        live = LiveFacts.read(Session(conn))
    found = lint(project, text, live)
    assert found == ["2 PG002", "3 PG005", "4 PG004", "5 PG003"]
    # Without a database, those rules have nothing to go on and stay silent.
    assert lint(project, text) == []


def test_what_evolving_a_populated_table_would_rewrite_is_linted_with_the_online_way(
    project, database
):
    with database.connect() as conn:
        conn.execute("CREATE TABLE public.visits (id serial PRIMARY KEY, n int, label varchar(10))")
        conn.execute("INSERT INTO public.visits (n, label) VALUES (1, 'a')")
        live = LiveFacts.read(Session(conn))
    text = """\
CREATE TABLE public.visits (
    id serial PRIMARY KEY,
    n bigint,
    label text,
    token uuid DEFAULT gen_random_uuid()
);
"""
    path = project.write("visits.sql", text)
    graph = compile_files([path], project.root, lenient=True)
    found = {f.rule.id: f for f in lint_graph(graph, live)}
    # int -> bigint rewrites; varchar -> text does not; serial over integer is the same.
    assert sorted(found) == ["PG005", "PG009"]
    assert found["PG009"].location.line == 3
    assert "changes type integer -> BIGINT" in found["PG009"].message
    assert "online: add a column of type BIGINT" in found["PG009"].message
    assert found["PG005"].location.line == 5
    assert "online: add it without the default" in found["PG005"].message


def test_shipped_sql_lints_clean():
    result = platform(
        "lint", env={"PATH": "/usr/bin:/bin", "PLATFORM_PROJECT_DIR": str(REPO)}, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("0 finding(s), 0 error(s) in ")


def test_cli_exits_non_zero_on_errors(project):
    path = project.write("bad.sql", HYPERTABLES)
    result = platform("lint", str(path), env={"PATH": "/usr/bin:/bin"}, cwd=project.root)
    assert result.returncode == 1
    assert "bad.sql:2: TS001 error: table public.events:" in result.stdout


# Every mistake SYSTEMS.md lists, as tests/fixtures/original_sql/README.md locates it.
DOCUMENT_MISTAKES = {
    ("004_analytics.sql", 5, "TS001"),
    ("004_analytics.sql", 48, "TS001"),
    ("004_analytics.sql", 121, "TS001"),
    ("004_analytics.sql", 132, "TS002"),
    ("004_analytics.sql", 133, "TS002"),
    ("004_analytics.sql", 166, "PG001"),
    ("004_analytics.sql", 167, "PG001"),
    ("004_analytics.sql", 168, "PG001"),
    ("004_analytics.sql", 41, "TS003"),
    ("004_analytics.sql", 117, "TS003"),
    ("004_analytics.sql", 110, "TS004"),
    ("mistakes_extra.sql", 22, "TS005"),
    ("000_wildduck.sql", 10, "DOC001"),
    ("001_scheduler.sql", 21, "PG006"),
    ("001_scheduler.sql", 33, "PG006"),
}


def test_the_documents_original_sql_reports_each_mistake_with_rule_file_and_line():
    fixtures = REPO / "tests" / "fixtures" / "original_sql"
    result = platform("lint", ".", env={"PATH": "/usr/bin:/bin"}, cwd=fixtures)
    assert result.returncode == 1
    found = set()
    for line in result.stdout.splitlines()[:-1]:
        location, rule = line.split(": ")[:2]
        file, number = location.rsplit(":", 1)
        found.add((file, int(number), rule.split()[0]))
    assert found >= DOCUMENT_MISTAKES, DOCUMENT_MISTAKES - found
    # Nothing else but the if_not_exists warnings on the 000 hypertable calls.
    assert {f[2] for f in found - DOCUMENT_MISTAKES} == {"TS008"}


def test_findings_are_shown_on_their_assets_at_definitions_load(project):
    project.write("sql/original.sql", HYPERTABLES)
    graph = compile_files([project.root / "sql" / "original.sql"], project.root, lenient=True)
    specs = {spec.key.to_user_string(): spec for spec in build_schema_assets(graph).specs}
    events = specs["public/events"]
    assert events.tags["platform/lint"] == "error"
    assert "`TS001` error at sql/original.sql:2:" in events.metadata["lint"].value
    policy = specs["public/events/compression_policy"]
    assert "`TS003` error at sql/original.sql:8:" in policy.metadata["lint"].value
    assert "lint" not in specs["public/correlations/hypertable"].metadata


def test_shipped_definitions_carry_no_lint_findings():
    from platform_assets.definitions import defs

    specs = defs.resolve_all_asset_specs()
    assert specs and not [s.key for s in specs if "platform/lint" in s.tags]
