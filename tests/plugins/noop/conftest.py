"""Fixtures for the noop plugin tests: the plugin of this checkout, and Peek as real processes.

``noopServices`` starts logic, then agent, field, office and worker, each as its own
process with the noop plugin enabled, in homes under one temporary ``$PEEK_HOME_ROOT``
(shared data exchange secret, a free data exchange port, web sites on OS-picked ports,
embedded SQLite and Celery broker). It is started once per test module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from peek_platform.services import AGENT, ALL_SERVICES, FIELD, LOGIC, OFFICE, WORKER, ServiceSpec
from peek_plugin_base.testing.FreePort import freeTcpPort

#: The noop plugin project in this repository.
NOOP_PROJECT_DIR = Path(__file__).resolve().parents[3] / "plugins" / "peek-plugin-noop"
#: The noop package directory.
NOOP_PACKAGE_DIR = NOOP_PROJECT_DIR / "peek_plugin_noop"

#: Seconds any single wait for a log line may take.
WAIT_SECONDS = 30.0
#: The data exchange secret every test service shares.
SECRET = "noop-plugin-test-secret-0123456789"


@pytest.fixture(scope="session")
def noopOnPath() -> Path:
    """The noop package of this checkout, first on sys.path (imported once per session).

    Its modules stay imported: tuple types are registered once per process.
    """
    if str(NOOP_PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(NOOP_PROJECT_DIR))
    return NOOP_PACKAGE_DIR


def consoleScript(name: str) -> str:
    """Path of an installed console script, preferring the one beside this interpreter."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"console script {name} is not installed; run `pip install -e .`")
    return found


class ServiceProcess:
    """One service command as a real process, its output collected line by line."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.argv = list(argv)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        """Everything the process printed so far."""
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
                if remaining <= 0 or (
                    self.process.poll() is not None and not self._reader.is_alive()
                ):
                    break
                self._changed.wait(min(remaining, 0.5))
        pytest.fail(
            f"{count} line(s) matching {pattern!r} not seen within {timeout} s from "
            f"{' '.join(self.argv)} (exit status {self.process.poll()}); output:\n" + self.output()
        )

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the process and wait for it (SIGKILL if it hangs); its exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def siteUrl(service: ServiceProcess, siteName: str) -> str:
    """The base URL a service logged for one of its web sites."""
    match = service.waitForLine(rf"{siteName} site listening on (http://[\d.]+:\d+)/")[0]
    return match.group(1)


def writeServiceConfigs(
    homeRoot: Path, pluginNames: Sequence[str], specs: Sequence[ServiceSpec] = ALL_SERVICES
) -> None:
    """Write a config.json per service: the plugins, the secret, ports for the test."""
    dataExchangePort = freeTcpPort()
    for spec in specs:
        home = homeRoot / spec.homeDirName
        home.mkdir(parents=True)
        config: dict = {
            "plugin": {"enabled": list(pluginNames)},
            "logging": {"level": "INFO"},
            "dataExchange": {"port": dataExchangePort, "secret": SECRET},
        }
        if spec.key == LOGIC.key:
            config["httpServer"] = {"admin": {"sitePort": 0, "bindAddress": "127.0.0.1"}}
        if spec.key in (FIELD.key, OFFICE.key):
            config["httpServer"] = {spec.key: {"sitePort": 0, "bindAddress": "127.0.0.1"}}
        if spec.key == WORKER.key:
            config["celery"] = {"workerConcurrency": 1}
        (home / "config.json").write_text(json.dumps(config), encoding="utf-8")


def serviceEnv(homeRoot: Path, pythonPath: Sequence[Path] = ()) -> dict[str, str]:
    """Environment of a service under test: the home root, and extra import paths first."""
    env = dict(os.environ)
    env["PEEK_HOME_ROOT"] = str(homeRoot)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [*map(str, pythonPath), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    return env


@dataclass
class RunningPlatform:
    """The service processes started for one test module, by service key."""

    homeRoot: Path
    #: The environment the services run with (for helper processes of the tests).
    env: dict[str, str]
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, spec: ServiceSpec) -> ServiceProcess:
        """Start ``spec``'s command with its home under ``homeRoot``."""
        home = self.homeRoot / spec.homeDirName
        service = ServiceProcess([consoleScript(spec.command), "--home", str(home)], self.env)
        self.services[spec.key] = service
        return service

    def stopAll(self) -> None:
        """Stop every service, the logic service last."""
        for key in sorted(self.services, key=lambda key: key == LOGIC.key):
            self.services[key].stop()


def startPlatform(
    homeRoot: Path, pluginName: str, pythonPath: Sequence[Path] = ()
) -> RunningPlatform:
    """Start logic, wait until it has started its plugins, then start the other four."""
    writeServiceConfigs(homeRoot, [pluginName])
    env = serviceEnv(homeRoot, pythonPath)
    platform = RunningPlatform(homeRoot, env)
    try:
        logic = platform.start(LOGIC)
        logic.waitForLine(rf"{LOGIC.vortexName} started: ")
        for spec in (AGENT, FIELD, OFFICE, WORKER):
            platform.start(spec)
        for spec in (AGENT, FIELD, OFFICE, WORKER):
            platform.services[spec.key].waitForLine(rf"{spec.vortexName} started: ")
    except BaseException:
        platform.stopAll()
        raise
    return platform


@pytest.fixture(scope="module")
def noopServices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """Logic, agent, field, office and worker running the noop plugin of this checkout."""
    platform = startPlatform(
        tmp_path_factory.mktemp("noop-root"), "peek_plugin_noop", [NOOP_PROJECT_DIR]
    )
    yield platform
    platform.stopAll()
