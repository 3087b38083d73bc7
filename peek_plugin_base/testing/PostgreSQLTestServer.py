"""A throwaway PostgreSQL server for tests of storage code (platform and plugins).

Runs ``initdb`` into a temporary directory and ``postgres`` on a free localhost port as a
child process (as an unprivileged user when run as root), hands out fresh databases, and
removes everything on ``stop()``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from peek_plugin_base.testing.FreePort import freeTcpPort

#: Where Debian/Ubuntu packages put the server binaries.
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class PostgreSQLNotInstalled(RuntimeError):
    """The PostgreSQL server binaries (initdb, postgres) cannot be found."""


def findPostgresBinDir() -> Path:
    """The directory holding ``initdb`` and ``postgres``; ``PostgreSQLNotInstalled`` if none."""
    candidates = sorted(glob.glob(PG_BIN_GLOB), reverse=True)
    onPath = shutil.which("initdb")
    if onPath:
        candidates.append(str(Path(onPath).parent))
    for directory in candidates:
        if (Path(directory) / "initdb").is_file() and (Path(directory) / "postgres").is_file():
            return Path(directory)
    raise PostgreSQLNotInstalled(
        f"PostgreSQL server binaries not found in {PG_BIN_GLOB} or on PATH; install them "
        "(Debian/Ubuntu: apt-get install postgresql) to run the PostgreSQL storage tests"
    )


class PostgreSQLTestServer:
    """One temporary PostgreSQL cluster; ``start()``, ``createDatabase()``, ``stop()``."""

    def __init__(
        self,
        user: str = "postgres",
        startTimeout: float = 30.0,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """``settings``: extra server settings (``-c name=value``), e.g. ``max_connections``."""
        self._binDir = findPostgresBinDir()
        self._runAs = user if os.geteuid() == 0 else None
        self._startTimeout = startTimeout
        self._dir = Path(tempfile.mkdtemp(prefix="peek-pg-"))
        self._process: subprocess.Popen | None = None
        self._databases = 0
        self._settings = dict(settings or {})
        self.port = freeTcpPort()
        self.user = user if self._runAs else pwd.getpwuid(os.geteuid()).pw_name

    def _command(self, *args: str) -> list[str]:
        if self._runAs is None:
            return list(args)
        return ["runuser", "-u", self._runAs, "--", *args]

    def start(self) -> None:
        """Create the cluster and start the server; return once it accepts connections."""
        dataDir, socketDir = self._dir / "data", self._dir / "socket"
        socketDir.mkdir()
        if self._runAs is not None:
            self._dir.chmod(0o755)
            record = pwd.getpwnam(self._runAs)
            os.chown(self._dir, record.pw_uid, record.pw_gid)
            os.chown(socketDir, record.pw_uid, record.pw_gid)
        subprocess.run(
            self._command(
                str(self._binDir / "initdb"),
                "-D",
                str(dataDir),
                "-U",
                self.user,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ),
            check=True,
            capture_output=True,
        )
        logFd = os.open(self._dir / "postgres.log", os.O_WRONLY | os.O_CREAT, 0o644)
        self._process = subprocess.Popen(
            self._command(
                str(self._binDir / "postgres"),
                "-D",
                str(dataDir),
                "-p",
                str(self.port),
                "-k",
                str(socketDir),
                "-h",
                "127.0.0.1",
                "-c",
                "fsync=off",
                *(f"-c{name}={value}" for name, value in self._settings.items()),
            ),
            stdout=subprocess.DEVNULL,
            stderr=logFd,
        )
        os.close(logFd)
        self._waitUntilReady()

    def _waitUntilReady(self) -> None:
        # No stubs (types-psycopg2 is not a dependency); mypy reports the module once, here.
        import psycopg2

        deadline = time.monotonic() + self._startTimeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                log = (self._dir / "postgres.log").read_text(errors="replace")
                raise RuntimeError(f"postgres exited with {self._process.returncode}:\n{log}")
            try:
                psycopg2.connect(self.url("postgres")).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def url(self, database: str) -> str:
        """A libpq/SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def createDatabase(self) -> str:
        """Create a new empty database; return its SQLAlchemy URL."""
        import psycopg2

        self._databases += 1
        name = f"peek_test_{self._databases}"
        conn = psycopg2.connect(self.url("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self._process is not None and self._process.poll() is None:
            # Fast shutdown: disconnect clients (SIGTERM would wait for them).
            subprocess.run(
                self._command(
                    str(self._binDir / "pg_ctl"),
                    "stop",
                    "-m",
                    "fast",
                    "-D",
                    str(self._dir / "data"),
                ),
                capture_output=True,
            )
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)
