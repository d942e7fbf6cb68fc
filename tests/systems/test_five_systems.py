"""The shipped `sql/`: all five systems materialize on plain PostgreSQL through Dagster's CLI."""

from __future__ import annotations

import os

import bcrypt
import psycopg
import pytest

from platform_assets.parse.compiler import compile_directory
from tests.support.cli import dagster_cli
from tests.support.project import REPO, SYSTEMS
from tests.support.runs import materializations, materialize

# Every regular table and hypertable SYSTEMS.md lists, per schema.
EXPECTED_TABLES = {
    "wildduck": {
        "metrics_system", "metrics_mongodb", "metrics_redis", "metrics_zonemta",
        "metrics_rspamd", "email_events", "blacklist_checks", "nodes", "sending_ips",
        "sending_domains", "alert_rules", "alert_events", "dashboard_users", "saved_views",
        "dnsbl_lists",
    },
    "scheduler": {"users", "message_logs"},
    "unity": {"plugins", "plugin_status", "alerts", "plugin_metrics", "alert_history"},
    "scan": {"users", "wallets", "scan_jobs", "scan_results", "audit_logs"},
    "analytics": {"events", "metrics", "correlations", "asset_metadata"},
}  # fmt: skip


def logged_statements(database, since: int) -> list[str]:
    """Statements the server logged for this database after byte offset `since`."""
    log = database.cluster.log_file.read_text(errors="replace")[since:]
    marker = f"db={database.name} "
    return [line for line in log.splitlines() if marker in line and "statement: " in line]


@pytest.mark.each_server
def test_cli_materializes_all_five_systems_and_a_rerun_runs_no_ddl(database, tmp_path):
    with database.connect() as conn:
        conn.execute(f"ALTER DATABASE \"{database.name}\" SET log_statement = 'ddl'")
    env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": database.url,
        "DAGSTER_HOME": str(tmp_path),
    }
    env.pop("PLATFORM_PROJECT_DIR", None)

    before = database.cluster.log_file.stat().st_size
    first = dagster_cli(
        "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*", env=env
    )
    assert first.returncode == 0, first.stderr[-3000:]
    assert len(logged_statements(database, before)) > 50

    tables = database.rows(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'",
        (list(SYSTEMS),),
    )
    found: dict[str, set[str]] = {}
    for schema, table in tables:
        found.setdefault(schema, set()).add(table)
    for schema, expected in EXPECTED_TABLES.items():
        assert expected <= found.get(schema, set()), (schema, expected - found.get(schema, set()))

    # The second run goes through `dg launch`, which runs the same code.
    before = database.cluster.log_file.stat().st_size
    second = dagster_cli("launch", "--assets", "*", env=env, tool="dg")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "RUN_SUCCESS" in second.stderr + second.stdout
    assert logged_statements(database, before) == []


def test_load_error_fails_the_cli_naming_file_and_line(project, database, tmp_path):
    project.write(
        "sql/a.sql", "CREATE SCHEMA s;\nCREATE TABLE s.t (a int REFERENCES s.nope (id));\n"
    )
    env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": database.url,
        "PLATFORM_PROJECT_DIR": str(project.root),
        "DAGSTER_HOME": str(tmp_path),
    }
    result = dagster_cli(
        "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*", env=env
    )
    assert result.returncode != 0
    assert "sql/a.sql:2: table s.t: references relation s.nope, which is not declared" in (
        result.stderr + result.stdout
    )


@pytest.fixture(scope="module")
def five_systems(pg_cluster):
    """One database with all five systems materialized (in-process), shared by the module."""
    name = "five_systems"
    pg_cluster.create_database(name)
    url = pg_cluster.url(name)
    graph = compile_directory(REPO / "sql", REPO)
    result = materialize(graph, url)
    assert result.success
    return url, materializations(result)


def test_every_asset_of_every_system_materialized(five_systems):
    _, done = five_systems
    graph = compile_directory(REPO / "sql", REPO)
    assert set(done) == {"/".join(obj.key) for obj in graph} | {"/".join(k) for k in graph.seeds}
    groups = {obj.schema for obj in graph}
    assert set(SYSTEMS) <= groups
    timescale = [k for k, meta in done.items() if meta["action"].startswith("not applicable")]
    assert timescale, "TimescaleDB declarations are reported, not dropped"


def test_scan_audit_logs_are_append_only(five_systems):
    url, _ = five_systems
    with psycopg.connect(url, autocommit=True) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'scan' AND table_name = 'audit_logs'"
            )
        }
        forbidden = {c for c in columns if any(w in c for w in ("body", "screenshot", "dom"))}
        assert not forbidden
        with conn.transaction():
            conn.execute("INSERT INTO scan.users (clerk_user_id) VALUES ('user_audit')")
            job = conn.execute(
                "INSERT INTO scan.scan_jobs (user_id, url) VALUES ('user_audit', "
                "'https://example.com') RETURNING id"
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO scan.audit_logs (scan_job_id, url_accessed, content_hash) "
                "VALUES (%s, 'https://example.com', repeat('a', 64))",
                (job,),
            )
        for statement in (
            "UPDATE scan.audit_logs SET url_accessed = 'https://evil.example'",
            "DELETE FROM scan.audit_logs",
        ):
            with pytest.raises(psycopg.Error, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM scan.audit_logs").fetchone()[0] == 1


def test_seed_data_of_the_systems_is_loaded_and_a_rerun_changes_no_rows(five_systems):
    url, done = five_systems
    with psycopg.connect(url, autocommit=True) as conn:

        def value(query: str):
            return conn.execute(query).fetchone()[0]

        assert value("SELECT count(*) FROM wildduck.dnsbl_lists") >= 25
        tiers = value("SELECT array_agg(DISTINCT tier ORDER BY tier) FROM wildduck.dnsbl_lists")
        assert {"critical", "high", "medium"} <= set(tiers)
        assert value("SELECT count(*) FROM wildduck.alert_rules") == 23
        admins = conn.execute(
            "SELECT password_hash, must_change_password FROM wildduck.dashboard_users "
            "WHERE role = 'admin'"
        ).fetchall()
        assert len(admins) == 1
        stored, must_change = admins[0]
        assert stored.startswith("$2b$") and must_change is True
        assert bcrypt.checkpw(os.environ["WILDDUCK_ADMIN_PASSWORD"].encode(), stored.encode())
        assert value("SELECT count(*) FROM scheduler.users") == 100
        assert (
            value(
                "SELECT count(DISTINCT timezone) FROM scheduler.users "
                "WHERE timezone IN (SELECT name FROM pg_timezone_names)"
            )
            >= 30
        )
        states = value("SELECT array_agg(DISTINCT status) FROM scheduler.message_logs")
        assert {"SCHEDULED", "SENT", "FAILED"} <= set(states)
    assert done["wildduck/seed/alert_rules"]["inserted"] == 23

    graph = compile_directory(REPO / "sql", REPO)
    again = materializations(materialize(graph, url))
    for key in graph.seeds:
        meta = again["/".join(key)]
        assert (meta["inserted"], meta["updated"], meta["deleted"]) == (0, 0, 0), key
        assert meta["unchanged"] == meta["file_rows"] > 0
