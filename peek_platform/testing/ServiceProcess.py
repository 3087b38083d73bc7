"""A Peek service command (or any command) run as a real child process for a test.

``ServiceProcess`` starts the command in its own session and process group, collects its
output line by line in a reader thread, waits for lines matching a regular expression
(failing with the command's output when none comes), and stops it: ``stop()`` asks with
SIGTERM, ``kill()`` SIGKILLs the whole group, so the children it started go too.
``consoleScript`` finds an installed console script such as ``run_peek_logic_service``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from peek_platform.services import ServiceSpec

#: Seconds a wait may last when neither the call nor the process names a timeout.
DEFAULT_TIMEOUT = 30.0
#: Lines of output that ``describe()`` (and so a failed wait) shows, the most recent ones.
TAIL_LINES = 150


class ServiceProcessError(AssertionError):
    """A wait on a service process was not met; the message holds the command's output."""


def consoleScript(name: str) -> str:
    """Path of an installed console script, preferring the one beside this interpreter.

    Raises ``FileNotFoundError`` saying how to install it when there is none.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"console script {name} is not installed; run `pip install -e .`")
    return found


def killProcessGroup(pgid: int, signum: int = signal.SIGKILL) -> None:
    """Send ``signum`` to every process in group ``pgid``, if any is left."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


class ServiceProcess:
    """One command as a real process in its own session, its output collected line by line.

    stdout and stderr are read together into ``lines`` (without line ends), unless
    ``separateStderr`` keeps stderr apart for ``stderrText()``. ``timeout`` is the default
    for every wait; ``name`` labels failure messages (default: the command's file name).
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        separateStderr: bool = False,
    ) -> None:
        self.argv = list(argv)
        self.name = name or Path(self.argv[0]).name
        self.timeout = timeout
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            self.argv,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if separateStderr else subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def forService(
        cls,
        spec: ServiceSpec,
        env: Mapping[str, str] | None = None,
        *,
        home: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        separateStderr: bool = False,
    ) -> ServiceProcess:
        """Start ``spec``'s console command (``--home home`` when given), named by its key."""
        argv = [consoleScript(spec.command)]
        if home is not None:
            argv += ["--home", str(home)]
        return cls(argv, env, name=spec.key, timeout=timeout, separateStderr=separateStderr)

    @property
    def pid(self) -> int:
        """Process id (also the id of its process group)."""
        return self.process.pid

    @property
    def exitStatus(self) -> int | None:
        """The exit status, or ``None`` while it runs (negative: killed by that signal)."""
        return self.process.poll()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        """Everything collected so far, one line per line."""
        with self._changed:
            return "\n".join(self.lines)

    def describe(self, tail: int = TAIL_LINES) -> str:
        """The command line, its pid and exit status, and the last ``tail`` lines of output."""
        with self._changed:
            lines = self.lines[-tail:] if tail else []
            skipped = len(self.lines) - len(lines)
        head = f"$ {' '.join(self.argv)}  (pid {self.pid}, exit status {self.exitStatus})"
        if skipped:
            head += f"\n[... {skipped} earlier lines ...]"
        return "\n".join([head, *lines])

    def waitForLines(
        self, pattern: str, *, count: int = 1, after: int = 0, timeout: float | None = None
    ) -> list[re.Match[str]]:
        """Wait until ``count`` lines from index ``after`` on match ``pattern``; the matches
        of all the lines that match by then (at least ``count``).

        Raises ``ServiceProcessError`` with the output when they have not come within
        ``timeout`` seconds, or at once when the process has exited without printing them.
        """
        timeout = self.timeout if timeout is None else timeout
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [m for m in map(regex.search, self.lines[after:]) if m]
                if len(matches) >= count:
                    return matches
                remaining = deadline - time.monotonic()
                exited = self.process.poll() is not None and not self._reader.is_alive()
                if remaining <= 0 or exited:
                    break
                self._changed.wait(min(remaining, 0.5))
        raise ServiceProcessError(
            f"{self.name}: {count} line(s) matching {pattern!r} not seen within {timeout} s"
            f"{' (it exited)' if exited else ''}:\n{self.describe()}"
        )

    def waitForLine(
        self, pattern: str, *, after: int = 0, timeout: float | None = None
    ) -> re.Match[str]:
        """The match of the first line from index ``after`` on matching ``pattern``.

        Waits and fails as ``waitForLines`` does.
        """
        return self.waitForLines(pattern, after=after, timeout=timeout)[0]

    def dataExchangePort(self) -> int:
        """The port logic logged for its data exchange (waits for the line)."""
        match = self.waitForLine(r"data exchange listening on wss?://[^\s/]+:(\d+)/")
        return int(match.group(1))

    def siteUrl(self, siteName: str) -> str:
        """The base URL (``http://host:port``) the service logged for ``siteName``."""
        return self.waitForLine(rf"{siteName} site listening on (http://[\d.]+:\d+)/").group(1)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process (not to the rest of its group)."""
        self.process.send_signal(signum)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit and for its output to be read; its exit status.

        Raises ``ServiceProcessError`` with the output when it still runs after ``timeout``.
        """
        timeout = self.timeout if timeout is None else timeout
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ServiceProcessError(
                f"{self.name}: still running {timeout} s later:\n{self.describe()}"
            ) from None
        self._reader.join(timeout)
        return status

    def stderrText(self) -> str:
        """Everything the process wrote to stderr (it must be started with ``separateStderr``);
        waits for it to exit first."""
        assert self.process.stderr is not None, "started without separateStderr"
        self.wait()
        return self.process.stderr.read()

    def stop(self, timeout: float | None = None) -> int:
        """SIGTERM the process and wait for it; SIGKILL its group if it hangs. Its exit status.

        Its pipes are closed afterwards.
        """
        timeout = self.timeout if timeout is None else timeout
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                killProcessGroup(self.pid)
                self.process.wait()
        self._close(timeout)
        return self.process.returncode

    def kill(self) -> int:
        """SIGKILL the process and everything left in its group, reap it, close its pipes."""
        killProcessGroup(self.pid)
        self.process.wait()
        self._close(self.timeout)
        return self.process.returncode

    def _close(self, timeout: float) -> None:
        self._reader.join(timeout)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
