"""Fixtures for the messaging acceptance tests: logic, field, office and agent with the
messaging test plugin, and a driver process holding vortex links for the tests.

The services start once per module (``msgPlatform``); tests that stop or kill one restart it
before they return. The parent ``tests/integration/conftest.py`` provides the process runner.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from peek_platform.config import keysForService, setDotted
from peek_platform.services import AGENT, FIELD, LOGIC, OFFICE, ServiceSpec
from peek_plugin_base.testing.FreePort import freeTcpPort

HERE = Path(__file__).resolve().parent
#: Directory holding the ``peek_plugin_msgtest`` package (put on every PYTHONPATH).
PLUGINS_DIR = HERE / "plugins"
DRIVER_SCRIPT = HERE / "msgtest_driver.py"
PLUGIN_NAME = "peek_plugin_msgtest"
#: The vortex name the driver links to logic with (the plugin's ``msgtestDriverName``).
DRIVER_NAME = "msgtest-driver"
SECRET = "messaging-acceptance-secret-0123456789"
#: Data exchange heartbeat of every service (and of the driver's link to logic).
HEARTBEAT_SECONDS = 1
#: Seconds any single wait may take before the test fails.
WAIT_SECONDS = 30.0
#: The services these tests run, in start order.
SERVICES: tuple[ServiceSpec, ...] = (LOGIC, FIELD, OFFICE, AGENT)


def writeConfig(spec: ServiceSpec, home: Path, dataExchangePort: int) -> None:
    """The service's config.json: the test plugin, the shared secret, sites on free ports.

    Site ports are fixed (not 0) so devices find a restarted field or office again. Logins
    are off on field and office (kiosk mode): these tests are about messaging between
    services; logins are covered by tests/integration/web/test_site_logins.py.
    """
    document: dict = {"plugin": {"enabled": [PLUGIN_NAME]}}
    for key in keysForService(spec):
        if key.path.startswith("httpServer.") and key.path.endswith(".sitePort"):
            setDotted(document, key.path, freeTcpPort())
            setDotted(document, key.path.removesuffix("sitePort") + "bindAddress", "127.0.0.1")
    for site in spec.sites:
        if site.appSite:
            setDotted(document, site.requireLoginKey, False)
    setDotted(document, "dataExchange.port", dataExchangePort)
    setDotted(document, "dataExchange.secret", SECRET)
    setDotted(document, "dataExchange.heartbeatSeconds", HEARTBEAT_SECONDS)
    setDotted(document, "dataExchange.reconnectMaxSeconds", 0.5)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps(document), encoding="utf-8")


def waitUntil(check: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``check()`` until it returns a truthy value and return it; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"{what}: not reached within {timeout} s (last value: {last!r})")


class MsgPlatform:
    """The running services; stop, kill and restart them by key."""

    def __init__(self, runner: Any, homeRoot: Path) -> None:
        self._runner = runner
        self._homeRoot = homeRoot
        self.port = freeTcpPort()
        self.homes = {spec.key: homeRoot / spec.homeDirName for spec in SERVICES}
        for spec in SERVICES:
            writeConfig(spec, self.homes[spec.key], self.port)
        self.commands: dict[str, Any] = {}
        self.siteUrls: dict[str, str] = {}
        #: Vortex names of other peers (the driver) that a restarted logic must see link up.
        self.extraPeers: list[str] = []

    @property
    def logicUrl(self) -> str:
        """The data exchange URL of logic."""
        return f"ws://127.0.0.1:{self.port}/vortexws"

    def launch(self, spec: ServiceSpec) -> Any:
        """Start ``spec``'s service process (see ``awaitReady``)."""
        command = self._runner.service(
            spec, self._homeRoot, home=self.homes[spec.key], pluginsDir=PLUGINS_DIR
        )
        self.commands[spec.key] = command
        return command

    def awaitReady(self, spec: ServiceSpec) -> Any:
        """Wait until the service's plugin started (and it linked to logic); its command."""
        command = self.commands[spec.key]
        command.waitForLine(rf"MSGTEST started on {spec.key}\b")
        if spec is not LOGIC:
            command.waitForLine(r"data exchange link up with peek-logic-service")
        if spec in (FIELD, OFFICE):
            self.siteUrls[spec.key] = command.siteUrl(spec.key)
        return command

    def startAll(self) -> None:
        """Start logic, then the others in parallel, and wait until each is ready."""
        self.launch(LOGIC)
        self.awaitReady(LOGIC)
        for spec in SERVICES[1:]:
            self.launch(spec)
        for spec in SERVICES[1:]:
            self.awaitReady(spec)

    def deviceUrl(self, siteKey: str) -> str:
        """The device vortex URL of the field or office site."""
        return self.siteUrls[siteKey].replace("http://", "ws://") + "/vortexws"

    def _logSince(self, key: str, mark: int, text: str) -> bool:
        return any(text in line for line in self.commands[key].lines[mark:])

    def kill(self, spec: ServiceSpec) -> None:
        """SIGKILL a service; return once the services linked to it have seen it go."""
        others = [key for key in self.commands if key != LOGIC.key]
        peers = others if spec is LOGIC else [LOGIC.key]
        marks = {key: len(self.commands[key].lines) for key in peers}
        self.commands[spec.key].kill()
        for key, mark in marks.items():
            waitUntil(
                lambda k=key, m=mark: self._logSince(
                    k, m, f"data exchange link down with {spec.vortexName}"
                ),
                f"{key} notices {spec.key} is gone",
            )

    def killLogic(self) -> None:
        """SIGKILL logic; return once every other service has seen its link drop."""
        self.kill(LOGIC)

    def restartField(self) -> None:
        """Start field again; return once its plugin started and it linked to logic."""
        self.launch(FIELD)
        self.awaitReady(FIELD)

    def restartLogic(self) -> None:
        """Start logic again and wait until field, office and agent have linked to it."""
        self.launch(LOGIC)
        command = self.awaitReady(LOGIC)
        for name in [spec.vortexName for spec in SERVICES[1:]] + self.extraPeers:
            command.waitForLine(rf"data exchange link up with {name}\b")

    def stopAgent(self) -> None:
        """Stop the agent gracefully (SIGTERM) and wait until logic has seen it go."""
        seen = len(self.commands[LOGIC.key].lines)
        command = self.commands[AGENT.key]
        command.signal(signal.SIGTERM)
        command.wait()
        waitUntil(
            lambda: self._logSince(LOGIC.key, seen, "data exchange link down with peek-agent"),
            "logic notices the agent is gone",
        )

    def restartAgent(self) -> None:
        """Start the agent again and wait until logic has linked to it."""
        seen = len(self.commands[LOGIC.key].lines)
        self.launch(AGENT)
        self.awaitReady(AGENT)
        waitUntil(
            lambda: self._logSince(LOGIC.key, seen, "data exchange link up with peek-agent"),
            "logic links to the restarted agent",
        )


class DriverProcess:
    """The driver helper process (``msgtest_driver.py``): call its ops, get plain results."""

    def __init__(self, logicUrl: str, logPath: Path) -> None:
        self.logPath = logPath
        self._log = logPath.open("w", encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PLUGINS_DIR), env.get("PYTHONPATH", "")) if p
        )
        self._process = subprocess.Popen(
            [sys.executable, str(DRIVER_SCRIPT), logicUrl, SECRET, str(HEARTBEAT_SECONDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
            encoding="utf-8",
        )
        self._ids = count(1)
        self._answers: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            answer = json.loads(line)
            with self._lock:
                box = self._answers.pop(answer["id"])
            box.put(answer)

    def call(self, op: str, timeout: float = WAIT_SECONDS, **args: Any) -> Any:
        """Run ``op`` in the driver and return its result; fail with the driver's error."""
        requestId = next(self._ids)
        box: queue.Queue = queue.Queue()
        with self._lock:
            self._answers[requestId] = box
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"id": requestId, "op": op, "args": args}) + "\n")
        self._process.stdin.flush()
        try:
            answer = box.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"driver op {op}({args}) not answered within {timeout} s;\n{self.log()}")
        if "error" in answer:
            pytest.fail(f"driver op {op}({args}) failed:\n{answer['error']}")
        return answer["result"]

    def log(self) -> str:
        """The driver's log so far."""
        self._log.flush()
        return self.logPath.read_text(encoding="utf-8")

    def close(self) -> None:
        """Close its stdin (it stops), then make sure it is gone."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(5)
        assert self._process.stdout is not None
        self._process.stdout.close()
        self._log.close()


@pytest.fixture(scope="module")
def msgPlatform(
    moduleProcesses: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MsgPlatform]:
    """Logic, field, office and agent with the messaging test plugin, started once."""
    platform = MsgPlatform(moduleProcesses, tmp_path_factory.mktemp("msgtest-homes"))
    platform.startAll()
    yield platform


@pytest.fixture(scope="module")
def driver(msgPlatform: MsgPlatform, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The driver process, linked to logic as the service ``msgtest-driver``."""
    process = DriverProcess(msgPlatform.logicUrl, tmp_path_factory.mktemp("msgtest") / "driver.log")
    try:
        process.call("service", name=DRIVER_NAME)
        msgPlatform.extraPeers.append(DRIVER_NAME)
        yield process
    finally:
        process.close()


@pytest.fixture(name="waitUntil")
def waitUntilFixture() -> Callable[..., Any]:
    """``waitUntil(check, what)``: poll until truthy, fail naming what was awaited."""
    return waitUntil
