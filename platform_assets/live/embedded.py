"""A project-local PostgreSQL cluster started from the machine's server binaries.

Used when no database URL is configured, and by the tests for throwaway
clusters. PostgreSQL refuses to run as root: when root, the server runs as the
unprivileged `postgres` user (the Debian package's) and owns its data directory.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from platform_assets import settings

SCHEMA_DATABASE = "platform"
DAGSTER_DATABASE = "dagster"
SERVER_USER = "postgres"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install them "
    "(Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@15`), "
    "put their directory on PATH, or set PLATFORM_PG_BINDIR to it. Or point the platform "
    "at a running server with PLATFORM_DATABASE_URL."
)


class EmbeddedClusterError(RuntimeError):
    pass


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl."""
    candidates: list[Path] = []
    configured = settings.pg_bindir()
    if configured:
        candidates.append(configured)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin"):
        found = sorted(Path("/").glob(pattern.lstrip("/")), key=_version_key, reverse=True)
        candidates.extend(found)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise EmbeddedClusterError(INSTALL_HINT)


def _version_key(path: Path) -> tuple[int, ...]:
    digits = [part for part in path.parts if part.isdigit()]
    return tuple(int(d) for d in digits) or (0,)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class EmbeddedCluster:
    """A PostgreSQL cluster whose files live under `directory`."""

    directory: Path
    # The server binaries; None: find_bindir() (the configured or the machine's).
    bindir: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    @property
    def state_file(self) -> Path:
        return self.directory / "cluster.json"

    @property
    def port(self) -> int:
        if not self.state_file.exists():
            raise EmbeddedClusterError(
                f"no embedded cluster in {self.directory}: run `platform db up` first"
            )
        return int(json.loads(self.state_file.read_text())["port"])

    def url(self, database: str = SCHEMA_DATABASE) -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        result = self._run(["pg_ctl", "-D", str(self.data_dir), "status"], check=False)
        return result.returncode == 0

    def up(self, databases: tuple[str, ...] = (SCHEMA_DATABASE, DAGSTER_DATABASE)) -> None:
        """Initialize if needed, start if stopped, and make sure the databases exist."""
        if not self.is_initialized():
            self._init()
        if not self.is_running():
            self._start()
        for database in databases:
            self.create_database(database)

    def down(self) -> None:
        if self.is_running():
            self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def create_database(self, database: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))

    def dump_schema(self, database: str) -> str:
        """`pg_dump --schema-only` of one database, by the cluster's own pg_dump."""
        result = subprocess.run(
            [
                str((self.bindir or find_bindir()) / "pg_dump"),
                "--schema-only",
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={SERVER_USER}",
                database,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise EmbeddedClusterError(f"pg_dump failed: {result.stderr.strip()}")
        return result.stdout

    def _init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self._give_to_server_user(self.directory)
        self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SERVER_USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
        )
        self.state_file.write_text(json.dumps({"port": free_port()}))

    def _start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.directory}",
                "-c log_line_prefix='%m [%p] db=%d '",
                "-c fsync=off" if settings.pg_fast() else "",
            ]
        )
        result = self._run(
            [
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-o",
                options,
                "start",
            ],
            check=False,
        )
        if result.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise EmbeddedClusterError(
                f"the embedded PostgreSQL did not start:\n{result.stderr}{log}"
            )

    def _give_to_server_user(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        user = pwd.getpwnam(SERVER_USER)
        for root, _dirs, files in os.walk(path):
            os.chown(root, user.pw_uid, user.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)
        # The server user must be able to reach the directory through its parents.
        for parent in path.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise EmbeddedClusterError(
                    f"{parent} is not searchable by the {SERVER_USER} user; "
                    "put the cluster directory elsewhere (PLATFORM_DATA_DIR)"
                )

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        command = [str((self.bindir or find_bindir()) / args[0]), *args[1:]]
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVER_USER)
            except KeyError as error:
                raise EmbeddedClusterError(
                    f"running as root needs the unprivileged `{SERVER_USER}` user to run "
                    "the server (it comes with the PostgreSQL server package)"
                ) from error
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise EmbeddedClusterError(
                f"{args[0]} failed ({result.returncode}): "
                + (result.stderr.strip() or result.stdout.strip())
            )
        return result


def default_cluster() -> EmbeddedCluster:
    """The project's own cluster: PLATFORM_DATA_DIR, or `.platform/` in the project."""
    directory = settings.data_dir()
    if directory:
        return EmbeddedCluster(directory)
    return EmbeddedCluster(project_root() / ".platform")


def project_root() -> Path:
    """The directory holding `sql/`: PLATFORM_PROJECT_DIR, or this package's parent."""
    return settings.project_dir()
