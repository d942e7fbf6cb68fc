"""`platform`: what Dagster has no verb for: the embedded database, plan, lint, engines and
import."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from platform_assets import settings
from platform_assets.adopt.importer import import_database
from platform_assets.dagster.resources import configured_database
from platform_assets.dagster.translator import SchemaTranslator
from platform_assets.execute.fallback import engine_comparisons
from platform_assets.execute.plan import make_plan
from platform_assets.lint.rules import RULES, LiveFacts, lint_graph
from platform_assets.live.embedded import (
    DAGSTER_DATABASE,
    EmbeddedClusterError,
    default_cluster,
    project_root,
)
from platform_assets.model.errors import SchemaError
from platform_assets.parse.cache import compile_project
from platform_assets.parse.compiler import compile_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="platform", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="the embedded PostgreSQL cluster")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("up", help="initialize and start it, creating its databases")
    db_commands.add_parser("down", help="stop it")
    db_commands.add_parser("url", help="print the schema database URL")
    db_commands.add_parser(
        "env", help="print shell exports for the schema URL, Dagster storage and DAGSTER_HOME"
    )
    lint = commands.add_parser("lint", help="static rules over sql/ (or the given files)")
    lint.add_argument("paths", nargs="*", type=Path, help="files or directories (default: sql/)")
    lint.add_argument("--explain", action="store_true", help="list every rule and its rationale")
    plan = commands.add_parser(
        "plan", help="show the SQL a materialization would run (exit 0 none, 2 pending, 1 error)"
    )
    plan.add_argument("--select", nargs="*", default=None, help="asset keys, e.g. wildduck/nodes")
    plan.add_argument(
        "--allow-destructive",
        nargs="*",
        default=[],
        help="asset keys whose data-losing changes are planned rather than refused",
    )
    commands.add_parser(
        "engines", help="per object, what plain PostgreSQL gives and what TimescaleDB would"
    )
    adopt = commands.add_parser(
        "import", help="write sql/ declaring the live database's schemas (adopt a database)"
    )
    adopt.add_argument(
        "--schema", action="append", default=None, help="a schema to import (default: all)"
    )
    adopt.add_argument(
        "--into", type=Path, default=Path.cwd(), help="the project directory (default: here)"
    )
    adopt.add_argument("--privileges", action="store_true", help="keep ownership and grants")
    adopt.add_argument(
        "--seed",
        action="append",
        default=[],
        help="SCHEMA.TABLE whose rows become seeds/<schema>/<table>.csv (small reference data)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "lint":
            return _lint(args.paths, args.explain)
        if args.command == "plan":
            return _plan(args.select, args.allow_destructive)
        if args.command == "engines":
            return _engines()
        if args.command == "import":
            return _import(args.into, args.schema, args.privileges, args.seed)
        return _db(args.db_command)
    except (EmbeddedClusterError, SchemaError) as error:
        print(f"platform: {error}", file=sys.stderr)
        return 1


def _lint(paths: list[Path], explain: bool) -> int:
    """Print findings; exit 1 when any has error severity."""
    if explain:
        for rule in RULES.values():
            print(f"{rule.id} ({rule.severity}) {rule.summary}\n    {rule.rationale}")
        return 0
    root = Path.cwd() if paths else project_root()
    files = _sql_files(paths or [project_root() / "sql"])
    graph = compile_files(files, root, lenient=bool(paths))
    live = None
    if settings.database_url():
        with configured_database().session() as session:
            live = LiveFacts.read(session)
    findings = lint_graph(graph, live)
    for finding in findings:
        print(finding)
    errors = sum(1 for f in findings if f.rule.severity == "error")
    print(f"{len(findings)} finding(s), {errors} error(s) in {len(files)} file(s)")
    return 1 if errors else 0


def _plan(select: list[str] | None, allow_destructive: list[str]) -> int:
    root = project_root()
    graph = compile_project(root)
    translator = SchemaTranslator()
    by_asset_key = {translator.get_asset_key(obj).to_user_string(): obj.key for obj in graph}
    keys = {by_asset_key[key] for key in select if key in by_asset_key} if select else None
    allowed = frozenset(by_asset_key[key] for key in allow_destructive if key in by_asset_key)
    with configured_database().session() as session:
        plan = make_plan(graph, session, keys, allowed)
    print(plan.render())
    return plan.exit_code()


def _engines() -> int:
    """The fallback report: each TimescaleDB declaration on both engines."""
    root = project_root()
    rows = engine_comparisons(compile_project(root))
    for row in rows:
        print(f"{row.key}  ({row.description})")
        print(f"    PostgreSQL:  {row.postgresql}")
        print(f"    TimescaleDB: {row.timescaledb}")
    print(f"{len(rows)} object(s) differ between the engines")
    return 0


def _import(into: Path, schemas: list[str] | None, privileges: bool, seeds: list[str]) -> int:
    url = configured_database().resolved_url()
    notes: list[str] = []
    written = import_database(url, into, schemas, privileges, seeds, notes.append)
    for path in written:
        print(path)
    for text in notes:
        print(f"note: {text}")
    print(f"{len(written)} file(s) written under {into}")
    return 0


def _sql_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.sql")) if path.is_dir() else [path])
    return [f.resolve() for f in files]


def _db(command: str) -> int:
    cluster = default_cluster()
    if command == "up":
        cluster.up()
        print(f"embedded {cluster.server_binaries().describe()} running: {cluster.url()}")
    elif command == "down":
        cluster.down()
        print("embedded PostgreSQL stopped")
    elif command == "url":
        print(cluster.url())
    elif command == "env":
        exports = {
            settings.DATABASE_URL: cluster.url(),
            settings.DAGSTER_STORAGE_URL: cluster.url(DAGSTER_DATABASE),
            "DAGSTER_HOME": str(project_root()),
        }
        for name, value in exports.items():
            print(f"export {name}={shlex.quote(value)}")
    return 0
