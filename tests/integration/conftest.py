"""Fixtures that run Peek commands as real processes: temp homes, test plugins, output waits.

Everything a test needs comes through a fixture (pytest imports test modules with
``importlib``, so there is no helper module to import).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from peek_platform.services import ServiceSpec

#: Seconds any single wait in these tests may take before it fails.
WAIT_SECONDS = 15.0

#: Test plugins written into a temp dir; both run on every service, in this load order.
TEST_PLUGINS: tuple[str, ...] = ("peek_plugin_itest_first", "peek_plugin_itest_second")
#: A test plugin whose ``stop()`` never finishes, for the forced-exit path.
HANGING_PLUGIN = "peek_plugin_itest_hangs"

_PLUGIN_INIT = '''"""Integration-test plugin: logs each step as ``ITEST <name> <step>``."""

import logging

from twisted.internet.defer import Deferred, succeed

from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC

logger = logging.getLogger(__name__)

#: ``Deferred`` (never fires: stop hangs) or ``succeed(None)``, per plugin.
STOP_RESULT = {stopResult}


def _hookClass(base):
    class EntryHook(base):
        def load(self):
            logger.info("ITEST %s load", self.name)

        def start(self):
            logger.info("ITEST %s start", self.name)

        def stop(self):
            logger.info("ITEST %s stop", self.name)
            return STOP_RESULT()

        def unload(self):
            logger.info("ITEST %s unload", self.name)

    return EntryHook


def peekLogicEntryHook():
    return _hookClass(PluginLogicEntryHookABC)


def peekFieldEntryHook():
    return _hookClass(PluginFieldEntryHookABC)


def peekOfficeEntryHook():
    return _hookClass(PluginOfficeEntryHookABC)


def peekAgentEntryHook():
    return _hookClass(PluginAgentEntryHookABC)


def peekWorkerEntryHook():
    return _hookClass(PluginWorkerEntryHookABC)
'''


def writeTestPlugins(directory: Path) -> Path:
    """Write the test plugin packages into ``directory`` and return it."""
    for name in (*TEST_PLUGINS, HANGING_PLUGIN):
        package = directory / name
        package.mkdir(parents=True)
        stopResult = "Deferred" if name == HANGING_PLUGIN else "lambda: succeed(None)"
        source = _PLUGIN_INIT.replace("{stopResult}", stopResult)
        (package / "__init__.py").write_text(source, encoding="utf-8")
        metadata = {
            "plugin": {"title": name, "packageName": name, "version": "0.0.1"},
            "requiresServices": ["logic", "field", "office", "agent", "worker"],
        }
        (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


def consoleScript(name: str) -> str:
    """Path of an installed console script, preferring the one beside this interpreter."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"console script {name} is not installed; run `pip install -e .`")
    return found


class RunningCommand:
    """A command run as a real process, its output collected line by line as it arrives."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        separateStderr: bool = False,
        newSession: bool = False,
    ) -> None:
        self.argv = list(argv)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if separateStderr else subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=newSession,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """Process id."""
        return self.process.pid

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

    def waitForLine(
        self, pattern: str, *, count: int = 1, timeout: float = WAIT_SECONDS
    ) -> list[re.Match[str]]:
        """Wait until ``count`` output lines match ``pattern``; fail with the output if not."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [m for m in map(regex.search, self.lines) if m]
                if len(matches) >= count:
                    return matches
                remaining = deadline - time.monotonic()
                exited = self.process.poll() is not None and not self._reader.is_alive()
                if remaining <= 0 or exited:
                    break
                self._changed.wait(min(remaining, 0.5))
        pytest.fail(
            f"{count} line(s) matching {pattern!r} not seen within {timeout} s from "
            f"{' '.join(self.argv)} (exit status {self.process.poll()}); output:\n" + self.output()
        )

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process."""
        self.process.send_signal(signum)

    def wait(self, timeout: float = WAIT_SECONDS) -> int:
        """Wait for the process to exit and for its output to be read; return its status."""
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"{' '.join(self.argv)} still running {timeout} s later; output:\n" + self.output()
            )
        self._reader.join(timeout)
        return status

    def stderrText(self) -> str:
        """Everything the process wrote to stderr (started with ``separateStderr``)."""
        assert self.process.stderr is not None
        self.wait()
        return self.process.stderr.read()

    def kill(self) -> None:
        """SIGKILL the process if it is still running, reap it and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(WAIT_SECONDS)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def childEnv(homeRoot: Path, extraPath: Path | None = None) -> dict[str, str]:
    """Environment of a command under test: home root set, test plugins importable."""
    env = dict(os.environ)
    env["PEEK_HOME_ROOT"] = str(homeRoot)
    env["PYTHONUNBUFFERED"] = "1"
    if extraPath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(extraPath), env.get("PYTHONPATH", "")) if p
        )
    return env


def pidAlive(pid: int) -> bool:
    """True if a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass(frozen=True)
class ItestPlugins:
    """The test plugins: their directory (for ``PYTHONPATH``) and package names."""

    directory: Path
    #: Both run on every service; enabled in this order.
    first: str = TEST_PLUGINS[0]
    second: str = TEST_PLUGINS[1]
    #: Its ``stop()`` never finishes.
    hanging: str = HANGING_PLUGIN


class ProcessRunner:
    """Starts Peek commands as real processes and kills whatever is left at teardown."""

    def __init__(self) -> None:
        self._started: list[RunningCommand] = []
        #: Pids of grandchildren (a launcher's services) to SIGKILL at teardown if alive.
        self.orphanPids: list[int] = []

    def command(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        separateStderr: bool = False,
        newSession: bool = False,
    ) -> RunningCommand:
        """Start ``argv`` with ``env`` (in a new session and process group if asked)."""
        command = RunningCommand(argv, env, separateStderr=separateStderr, newSession=newSession)
        self._started.append(command)
        return command

    def service(
        self,
        spec: ServiceSpec,
        homeRoot: Path,
        *,
        home: Path | None = None,
        pluginsDir: Path | None = None,
        separateStderr: bool = False,
    ) -> RunningCommand:
        """Start ``spec.command`` (``--home`` only when ``home`` is given)."""
        argv = [consoleScript(spec.command)]
        if home is not None:
            argv += ["--home", str(home)]
        return self.command(argv, childEnv(homeRoot, pluginsDir), separateStderr=separateStderr)

    def launcher(self, homeRoot: Path) -> RunningCommand:
        """Start ``run_peek_platform --home-root homeRoot`` in its own process group.

        Its own group stands in for a terminal's foreground job, so a test can send it
        Ctrl-C with ``os.killpg`` without hitting pytest.
        """
        argv = [consoleScript("run_peek_platform"), "--home-root", str(homeRoot)]
        return self.command(argv, childEnv(homeRoot), newSession=True)

    def cleanup(self) -> None:
        """SIGKILL every command and orphan still running."""
        for command in self._started:
            command.kill()
        for pid in self.orphanPids:
            if pidAlive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(name="pidAlive")
def pidAliveFixture() -> Callable[[int], bool]:
    """The ``pidAlive(pid)`` check, for tests."""
    return pidAlive


@pytest.fixture(scope="session")
def testPlugins(tmp_path_factory: pytest.TempPathFactory) -> ItestPlugins:
    """The test plugins, written once into a temp directory."""
    return ItestPlugins(writeTestPlugins(tmp_path_factory.mktemp("itest-plugins")))


@pytest.fixture
def homeRoot(tmp_path: Path) -> Path:
    """An empty temp directory used as ``$PEEK_HOME_ROOT``."""
    root = tmp_path / "peek-home"
    root.mkdir()
    return root


@pytest.fixture
def processes() -> Iterator[ProcessRunner]:
    """Process runner for one test."""
    runner = ProcessRunner()
    yield runner
    runner.cleanup()


@pytest.fixture(scope="module")
def moduleProcesses() -> Iterator[ProcessRunner]:
    """Process runner shared by a test module (for processes started once per module)."""
    runner = ProcessRunner()
    yield runner
    runner.cleanup()
