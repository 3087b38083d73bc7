"""Shared fixtures for the real-process tests: temp homes, configs, processes, waits.

Every test here runs services as real processes on this host, next to other test runs and
maybe a real platform, so nothing uses a fixed port or a wildcard address: web sites listen
on port 0 (the service logs the port it got), logic's data exchange too (the other services
are configured with the port logic logged), and everything binds 127.0.0.1. Every config
carries the same data exchange secret. When a test fails, the output of every process it
started is added to the report.

Every conftest here is imported as a top-level ``conftest`` module, so the helpers reach
the tests and the subdirectory conftests through fixtures, never through imports.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from peek_platform.config import keysForService, setDotted
from peek_platform.services import ALL_SERVICES, LOGIC, ServiceSpec
from peek_platform.testing.ServiceProcess import ServiceProcess, consoleScript, killProcessGroup
from peek_plugin_base.testing.FreePort import freeTcpPortBlock, heldTcpPort

#: Seconds any single wait in these tests may take before it fails.
WAIT_SECONDS = 30.0
#: The data exchange secret written into every config (at least 16 characters).
SECRET = "integration-test-secret-0123456789"
#: Where every service of these tests listens and connects.
LOOPBACK = "127.0.0.1"

#: Test plugins written into a temp dir; both run on every service, in this load order (the
#: second requires the first).
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
        if name == TEST_PLUGINS[1]:
            metadata["requiresPlugins"] = [TEST_PLUGINS[0]]
        (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


def serviceConfig(
    spec: ServiceSpec,
    *,
    plugins: Sequence[str] = (),
    dataExchangePort: int = 0,
    settings: Mapping[str, Any] | None = None,
) -> dict:
    """A config.json document for ``spec`` that is safe to run beside anything else.

    The shared secret, loopback everywhere, web sites on port 0, the data exchange on
    ``dataExchangePort`` (0 for logic: the OS picks, the service logs it), quick reconnects,
    and ``plugins`` enabled. ``settings`` (dotted keys) are set last, as given.
    """
    document: dict = {"plugin": {"enabled": list(plugins)}}
    defaults: dict[str, Any] = {
        "dataExchange.secret": SECRET,
        "dataExchange.host": LOOPBACK,
        "dataExchange.port": dataExchangePort,
        "dataExchange.reconnectMaxSeconds": 0.5,
    }
    for key in keysForService(spec):
        if key.path.endswith(".bindAddress"):
            defaults[key.path] = LOOPBACK
        elif key.path.startswith("httpServer.") and key.path.endswith(".sitePort"):
            defaults[key.path] = 0
    known = {key.path for key in keysForService(spec)}
    for dottedKey, value in defaults.items():
        if dottedKey in known:
            setDotted(document, dottedKey, value)
    for dottedKey, value in (settings or {}).items():
        setDotted(document, dottedKey, value)
    return document


def writeServiceConfig(
    spec: ServiceSpec,
    home: Path,
    *,
    plugins: Sequence[str] = (),
    dataExchangePort: int = 0,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``serviceConfig(...)`` as ``home/config.json`` (creating ``home``); its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.json"
    document = serviceConfig(
        spec, plugins=plugins, dataExchangePort=dataExchangePort, settings=settings
    )
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def waitFor(
    check: Callable[[], Any], *, timeout: float = WAIT_SECONDS, what: str = "condition"
) -> Any:
    """Poll ``check()`` until it returns something truthy and return that; fail naming
    ``what`` and the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout} s; last value: {result!r}")
        time.sleep(0.1)


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


@dataclass
class LinkedServices:
    """Services started linked to one logic: their commands, homes and the exchange port."""

    commands: dict[str, ServiceProcess]
    homes: dict[str, Path]
    dataExchangePort: int
    #: Dotted settings given to every config, kept to write a restarted logic's config.
    settings: dict[str, Any] = field(default_factory=dict)


class ProcessRunner:
    """Starts Peek commands as real processes and kills whatever is left at teardown."""

    def __init__(self) -> None:
        self.started: list[ServiceProcess] = []
        #: Process groups of grandchildren (a launcher's services) to SIGKILL at teardown.
        self.orphanGroups: list[int] = []

    def command(
        self, argv: Sequence[str], env: dict[str, str], *, separateStderr: bool = False
    ) -> ServiceProcess:
        """Start ``argv`` with ``env`` in its own session and process group."""
        return self._track(
            ServiceProcess(argv, env, timeout=WAIT_SECONDS, separateStderr=separateStderr)
        )

    def service(
        self,
        spec: ServiceSpec,
        homeRoot: Path,
        *,
        home: Path | None = None,
        pluginsDir: Path | None = None,
        separateStderr: bool = False,
    ) -> ServiceProcess:
        """Start ``spec.command`` (``--home`` only when ``home`` is given)."""
        env = childEnv(homeRoot, pluginsDir)
        return self._track(
            ServiceProcess.forService(
                spec, env, home=home, timeout=WAIT_SECONDS, separateStderr=separateStderr
            )
        )

    def _track(self, command: ServiceProcess) -> ServiceProcess:
        self.started.append(command)
        return command

    def linkedServices(
        self,
        homeRoot: Path,
        specs: Sequence[ServiceSpec] = ALL_SERVICES,
        *,
        plugins: Sequence[str] = (),
        pluginsDir: Path | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> LinkedServices:
        """Write each service's config and start logic, then, once logic has logged the
        port it got, the others configured with that port. ``specs`` must include logic."""
        if LOGIC not in specs:
            raise ValueError("linkedServices needs the logic service among specs")
        settings = dict(settings or {})
        homes = {spec.key: homeRoot / spec.homeDirName for spec in specs}
        writeServiceConfig(LOGIC, homes[LOGIC.key], plugins=plugins, settings=settings)
        commands = {
            LOGIC.key: self.service(LOGIC, homeRoot, home=homes[LOGIC.key], pluginsDir=pluginsDir)
        }
        port = commands[LOGIC.key].dataExchangePort()
        for spec in specs:
            if spec is LOGIC:
                continue
            writeServiceConfig(
                spec, homes[spec.key], plugins=plugins, dataExchangePort=port, settings=settings
            )
            commands[spec.key] = self.service(
                spec, homeRoot, home=homes[spec.key], pluginsDir=pluginsDir
            )
        return LinkedServices(commands, homes, port, settings)

    def launcher(self, homeRoot: Path, *args: str) -> ServiceProcess:
        """Start ``run_peek_platform --home-root homeRoot ARGS`` in its own process group.

        Its own group stands in for a terminal's foreground job, so a test can send it
        Ctrl-C with ``os.killpg`` without hitting pytest.
        """
        argv = [consoleScript("run_peek_platform"), "--home-root", str(homeRoot), *args]
        return self.command(argv, childEnv(homeRoot))

    def describe(self) -> str:
        """The command line and recent output of every command started."""
        return "\n\n".join(command.describe() for command in self.started)

    def cleanup(self) -> None:
        """SIGKILL every command, its process group and the orphan groups still running."""
        for command in self.started:
            command.kill()
        for pgid in self.orphanGroups:
            killProcessGroup(pgid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Add the output of every process a failed test started to its report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    runners = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, ProcessRunner)]
    for runner in runners:
        if runner.started:
            report.sections.append((f"processes ({report.when})", runner.describe()))


@pytest.fixture(name="pidAlive", scope="session")
def pidAliveFixture() -> Callable[[int], bool]:
    """The ``pidAlive(pid)`` check, for tests."""
    return pidAlive


@pytest.fixture(name="waitFor", scope="session")
def waitForFixture() -> Callable[..., Any]:
    """``waitFor(check, timeout=, what=)``: poll until truthy, else fail naming ``what``."""
    return waitFor


@pytest.fixture(name="writeServiceConfig", scope="session")
def writeServiceConfigFixture() -> Callable[..., Path]:
    """``writeServiceConfig(spec, home, plugins=, dataExchangePort=, settings=)``: a safe
    config.json (shared secret, loopback, port 0 sites)."""
    return writeServiceConfig


@pytest.fixture(name="freePortBlock", scope="session")
def freePortBlockFixture() -> Callable[[Sequence[int]], int]:
    """``freePortBlock(offsets)``: a base port below the ephemeral range with every
    ``base + offset`` free."""
    return freeTcpPortBlock


@pytest.fixture(scope="session")
def sharedSecret() -> str:
    """The data exchange secret every config written by these tests carries."""
    return SECRET


@pytest.fixture(scope="session")
def refusedPort() -> Iterator[int]:
    """A loopback port that refuses connections for the whole session.

    The socket stays bound without listening, so a connection gets a reset at once and no
    other program can take the port: a service pointed at it never reaches a stranger.
    """
    with heldTcpPort() as port:
        yield port


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
