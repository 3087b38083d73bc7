"""A throwaway Redis server for tests of Celery and other Redis-backed plugin code.

Runs ``redis-server`` on a free localhost port as a child process, without persistence
(``--save ''``, ``--appendonly no``), in a temporary working directory removed on ``stop()``.
With ``persistent=True`` it keeps an append-only file instead (written out at a stop), so
``restart()`` brings the same data back on the same port, as a restarted production Redis.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from peek_plugin_base.testing.FreePort import freeTcpPort


class RedisNotInstalled(RuntimeError):
    """The ``redis-server`` binary cannot be found."""


def findRedisServer() -> Path:
    """The ``redis-server`` binary on PATH; ``RedisNotInstalled`` if there is none."""
    found = shutil.which("redis-server")
    if found is None:
        raise RedisNotInstalled(
            "redis-server not found on PATH; install it (Debian/Ubuntu: apt-get install "
            "redis-server) to run the Redis tests"
        )
    return Path(found)


class RedisTestServer:
    """One temporary ``redis-server``; ``start()``, ``url(db)``, ``flush()``, ``stop()``.

    It listens on ``port``, or on a free port the OS picks when that is ``None``.
    """

    def __init__(
        self, startTimeout: float = 10.0, port: int | None = None, persistent: bool = False
    ) -> None:
        self._binary = findRedisServer()
        self._persistent = persistent
        self._startTimeout = startTimeout
        self._dir = Path(tempfile.mkdtemp(prefix="peek-redis-"))
        self._process: subprocess.Popen | None = None
        self.port = freeTcpPort() if port is None else port

    def start(self) -> None:
        """Start the server; return once it accepts connections."""
        with open(self._dir / "redis.log", "ab") as logFd:
            self._process = subprocess.Popen(
                [
                    str(self._binary),
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    *(
                        ("--appendonly", "yes", "--appendfsync", "everysec")
                        if self._persistent
                        else ("--appendonly", "no")
                    ),
                ],
                cwd=self._dir,
                stdout=logFd,
                stderr=subprocess.STDOUT,
            )
        self._waitUntilReady()

    def _waitUntilReady(self) -> None:
        deadline = time.monotonic() + self._startTimeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                log = (self._dir / "redis.log").read_text(errors="replace")
                raise RuntimeError(
                    f"redis-server exited with {self._process.returncode} on port "
                    f"{self.port}:\n{log}"
                )
            try:
                if self.command("PING") == "+PONG":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server did not answer PING on 127.0.0.1:{self.port} within "
                    f"{self._startTimeout:g} s; see {self._dir / 'redis.log'}"
                )
            time.sleep(0.05)

    def url(self, db: int = 0) -> str:
        """The ``redis://`` URL of database ``db`` on this server."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def command(self, *words: str) -> str:
        """Send one inline command; return the first line of the reply (``+OK``, ``:1``...)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(" ".join(words).encode() + b"\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.split(b"\r\n", 1)[0].decode()

    def flush(self) -> None:
        """Delete every key in every database, so the next test starts empty."""
        reply = self.command("FLUSHALL")
        if reply != "+OK":
            raise RuntimeError(f"FLUSHALL on redis 127.0.0.1:{self.port} answered {reply!r}")

    def restart(self) -> None:
        """Stop the server (clients see their connections close) and start it again on the
        same port; with ``persistent`` the data survives."""
        self._terminate()
        self.start()

    def stop(self) -> None:
        """Stop the server and delete its files."""
        self._terminate()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _terminate(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
