"""`platform`: what Dagster has no verb for (the embedded database, for now)."""

from __future__ import annotations

import argparse
import shlex
import sys

from platform_assets.embedded import (
    DAGSTER_DATABASE,
    EmbeddedClusterError,
    default_cluster,
    project_root,
)
from platform_assets.resources import URL_VARIABLE

DAGSTER_URL_VARIABLE = "PLATFORM_DAGSTER_STORAGE_URL"


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
    args = parser.parse_args(argv)
    try:
        return _db(args.db_command)
    except EmbeddedClusterError as error:
        print(f"platform: {error}", file=sys.stderr)
        return 1


def _db(command: str) -> int:
    cluster = default_cluster()
    if command == "up":
        cluster.up()
        print(f"embedded PostgreSQL running: {cluster.url()}")
    elif command == "down":
        cluster.down()
        print("embedded PostgreSQL stopped")
    elif command == "url":
        print(cluster.url())
    elif command == "env":
        exports = {
            URL_VARIABLE: cluster.url(),
            DAGSTER_URL_VARIABLE: cluster.url(DAGSTER_DATABASE),
            "DAGSTER_HOME": str(project_root()),
        }
        for name, value in exports.items():
            print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
