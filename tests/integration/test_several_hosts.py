"""Seven services as on seven hosts: logic, two field, office, agent and two workers.

Each service runs as a real process with its own home root (nothing shared on disk) and
listens only on its own loopback address, 127.0.0.2 to 127.0.0.8, as it would on its own
host; logic's data exchange is on a fixed port of 127.0.0.2, and every other service is
configured with that address and the secret copied from logic's ``config.json``, as the
admin guide's "Several hosts" chapter says. Logic and both workers use one real PostgreSQL
database and one real Redis (broker and results). The noop plugin runs on every service;
a small task plugin makes logic submit tasks until both workers have run some. The devices
are links of ``several_hosts_driver.py`` to the field sites, in kiosk mode with the noop
edit permission, so no login is needed.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from peek_platform.services import AGENT, FIELD, LOGIC, OFFICE, WORKER, ServiceSpec
from peek_platform.testing.ServiceProcess import ServiceProcess, consoleScript
from peek_plugin_base.storage.DbEngine import createDbEngine
from peek_plugin_base.testing.FreePort import freeTcpPortBlock
from peek_plugin_base.testing.PostgreSQLTestServer import PostgreSQLTestServer
from peek_plugin_base.testing.RedisTestServer import RedisTestServer

pytestmark = pytest.mark.integration

DRIVER_SCRIPT = Path(__file__).with_name("several_hosts_driver.py")
#: Seconds a service may take to start (a worker's Celery child is the slowest).
START_SECONDS = 30.0
#: Seconds any other single wait may take.
WAIT_SECONDS = 30.0
#: The task plugin: logic submits ``whoAmI`` until it has seen this many worker nodes.
TASK_PLUGIN = "peek_plugin_hoststest"
NOOP_PLUGIN = "peek_plugin_noop"


@dataclass(frozen=True)
class Host:
    """One service "host": its name, service and the loopback address it listens on."""

    name: str
    spec: ServiceSpec
    address: str


#: Start order: logic first, the others link to it.
HOSTS: tuple[Host, ...] = (
    Host("logic", LOGIC, "127.0.0.2"),
    Host("fieldA", FIELD, "127.0.0.3"),
    Host("fieldB", FIELD, "127.0.0.4"),
    Host("office", OFFICE, "127.0.0.5"),
    Host("agent", AGENT, "127.0.0.6"),
    Host("worker1", WORKER, "127.0.0.7"),
    Host("worker2", WORKER, "127.0.0.8"),
)
LOGIC_ADDRESS = HOSTS[0].address

_TASK_PLUGIN_INIT = '''"""Several-hosts test plugin: logic submits tasks to the workers."""

import logging

from twisted.internet import reactor, task

from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC

logger = logging.getLogger(__name__)

#: Worker nodes to see before logic stops submitting; tasks submitted at most; in flight.
WANTED_NODES = 2
MAX_TASKS = 400
MAX_PENDING = 4


class LogicHook(PluginLogicEntryHookABC):
    def load(self):
        pass

    def start(self):
        self._nodes = set()
        self._pending = 0
        self._submitted = 0
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = reactor
        self._loop.start(0.05)

    def _tick(self):
        from peek_plugin_hoststest.tasks import whoAmI

        if len(self._nodes) >= WANTED_NODES or self._submitted >= MAX_TASKS:
            self._loop.stop()
            return
        if self._pending >= MAX_PENDING:
            return
        self._pending += 1
        self._submitted += 1
        d = self.platform.submitCeleryTask(whoAmI, 0.05)
        d.addCallbacks(self._ran, self._failed)

    def _ran(self, node):
        self._pending -= 1
        if node not in self._nodes:
            self._nodes.add(node)
            logger.info("HOSTTEST task ran on %s", node)

    def _failed(self, failure):
        self._pending -= 1
        logger.error("HOSTTEST task failed: %s", failure.getErrorMessage())

    def stop(self):
        if self._loop.running:
            self._loop.stop()

    def unload(self):
        pass


class WorkerHook(PluginWorkerEntryHookABC):
    def load(self):
        pass

    def start(self):
        pass

    def stop(self):
        pass

    def unload(self):
        pass

    @property
    def celeryAppIncludes(self):
        return ["peek_plugin_hoststest.tasks"]


def peekLogicEntryHook():
    return LogicHook


def peekWorkerEntryHook():
    return WorkerHook
'''

_TASK_PLUGIN_TASKS = '''"""The task: which worker node ran it."""

import time

from peek_plugin_base.worker.CeleryApp import celeryApp


@celeryApp.task(bind=True)
def whoAmI(self, seconds):
    time.sleep(seconds)
    return self.request.hostname
'''


def writeTaskPlugin(directory: Path) -> Path:
    """Write the task plugin package into ``directory`` (for ``PYTHONPATH``); return it."""
    package = directory / TASK_PLUGIN
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_TASK_PLUGIN_INIT, encoding="utf-8")
    (package / "tasks.py").write_text(_TASK_PLUGIN_TASKS, encoding="utf-8")
    metadata = {
        "plugin": {"title": "Several hosts test", "packageName": TASK_PLUGIN, "version": "0.0.1"},
        "requiresServices": ["logic", "worker"],
        "logic": {},
        "worker": {},
    }
    (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


class DeviceDriver:
    """The ``several_hosts_driver.py`` process: call its ops, get plain results."""

    def __init__(self, logPath: Path) -> None:
        self._log = logPath.open("w", encoding="utf-8")
        self.logPath = logPath
        self._process = subprocess.Popen(
            [sys.executable, str(DRIVER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
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

    def call(self, op: str, **args: Any) -> Any:
        """Run ``op`` in the driver and return its result; fail with the driver's error."""
        requestId = next(self._ids)
        box: queue.Queue = queue.Queue()
        with self._lock:
            self._answers[requestId] = box
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"id": requestId, "op": op, "args": args}) + "\n")
        self._process.stdin.flush()
        try:
            answer = box.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            pytest.fail(f"driver op {op}({args}) not answered in {WAIT_SECONDS} s:\n{self.log()}")
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


@dataclass
class SeveralHosts:
    """The running services by host name, their homes, and the shared servers' URLs."""

    commands: dict[str, ServiceProcess]
    homes: dict[str, Path]
    dataExchangePort: int
    databaseUrl: str
    secret: str
    siteUrls: dict[str, str] = field(default_factory=dict)


def _settings(host: Host, port: int, secret: str, databaseUrl: str, redis: RedisTestServer) -> dict:
    """The dotted config keys an admin sets on ``host`` (see docs/admin/several-hosts.rst)."""
    settings: dict[str, Any] = {
        "dataExchange.host": LOGIC_ADDRESS,
        "dataExchange.port": port,
        "dataExchange.secret": secret,
    }
    for site in host.spec.sites:
        settings[f"httpServer.{site.name}.bindAddress"] = host.address
    if host.spec is LOGIC:
        settings["dataExchange.bindAddress"] = host.address
    if host.spec in (LOGIC, WORKER):
        settings["sqlalchemy.connectUrl"] = databaseUrl
        settings["celery.brokerUrl"] = redis.url(0)
        settings["celery.resultUrl"] = redis.url(1)
    if host.spec is WORKER:
        settings["celery.workerConcurrency"] = 1
    if host.spec is FIELD:
        # A kiosk site whose devices may change noop items: no login needed for the links.
        settings[FIELD.sites[0].requireLoginKey] = False
        settings[FIELD.sites[0].anonymousPermissionsKey] = [f"{NOOP_PLUGIN}.edit"]
    return settings


@pytest.fixture(scope="module")
def severalHosts(
    tmp_path_factory: pytest.TempPathFactory,
    moduleProcesses: Any,
    writeServiceConfig: Callable[..., Path],
    peekPostgresServer: PostgreSQLTestServer,
    peekRedisServer: RedisTestServer,
) -> SeveralHosts:
    """Start logic, copy its generated secret to the other six, start them, await links."""
    root = tmp_path_factory.mktemp("several-hosts")
    pluginsDir = writeTaskPlugin(root / "plugins")
    peekRedisServer.flush()
    databaseUrl = peekPostgresServer.createDatabase()
    port = freeTcpPortBlock([0])
    homes = {host.name: root / host.address / host.spec.homeDirName for host in HOSTS}
    commands: dict[str, ServiceProcess] = {}

    def start(host: Host, secret: str) -> None:
        plugins = [NOOP_PLUGIN]
        if host.spec in (LOGIC, WORKER):
            plugins.append(TASK_PLUGIN)
        writeServiceConfig(
            host.spec,
            homes[host.name],
            plugins=plugins,
            settings=_settings(host, port, secret, databaseUrl, peekRedisServer),
        )
        commands[host.name] = moduleProcesses.service(
            host.spec, homes[host.name].parent, home=homes[host.name], pluginsDir=pluginsDir
        )

    logic, others = HOSTS[0], HOSTS[1:]
    start(logic, secret="")
    commands["logic"].waitForLine(rf"{LOGIC.vortexName} started: ", timeout=START_SECONDS)
    secret = json.loads((homes["logic"] / "config.json").read_text())["dataExchange"]["secret"]
    for host in others:
        start(host, secret)
    for host in others:
        command = commands[host.name]
        command.waitForLine(rf"{host.spec.vortexName} started: ", timeout=START_SECONDS)
        command.waitForLine(rf"data exchange link up with {LOGIC.vortexName}\b")
    for spec, links in ((FIELD, 2), (OFFICE, 1), (AGENT, 1), (WORKER, 2)):
        commands["logic"].waitForLines(
            rf"data exchange link up with {spec.vortexName}\b", count=links
        )
    hosts = SeveralHosts(commands, homes, port, databaseUrl, secret)
    for host in HOSTS:
        for site in host.spec.sites:
            hosts.siteUrls[host.name] = commands[host.name].siteUrl(site.name)
    return hosts


@pytest.fixture(scope="module")
def driver(severalHosts: SeveralHosts, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The device driver process."""
    process = DeviceDriver(tmp_path_factory.mktemp("several-hosts-driver") / "driver.log")
    try:
        yield process
    finally:
        process.close()


def waitUntil(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check()`` until truthy and return it; fail naming ``what`` after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {WAIT_SECONDS} s (last value: {last!r})")
        time.sleep(0.05)


def refusedOnLoopback(port: int) -> bool:
    """True when nothing listens on ``port`` of 127.0.0.1 (the connection is refused)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_each_service_listens_only_on_its_own_address(severalHosts):
    """Logic's data exchange and each web site listen on their host's address only (the
    same port on 127.0.0.1 refuses connections), and logic generated the secret that every
    other service was given."""
    logicLine = severalHosts.commands["logic"].waitForLine(r"data exchange listening on (\S+)")
    assert logicLine.group(1) == f"ws://{LOGIC_ADDRESS}:{severalHosts.dataExchangePort}/vortexws"
    assert refusedOnLoopback(severalHosts.dataExchangePort)
    addresses = {host.name: host.address for host in HOSTS}
    for name, url in severalHosts.siteUrls.items():
        match = re.fullmatch(r"http://([\d.]+):(\d+)", url)
        assert match is not None, url
        assert match.group(1) == addresses[name]
        assert refusedOnLoopback(int(match.group(2))), f"{name} also listens on 127.0.0.1"
    assert sorted(severalHosts.siteUrls) == ["fieldA", "fieldB", "logic", "office"]
    logicConfig = json.loads((severalHosts.homes["logic"] / "config.json").read_text())
    assert logicConfig["dataExchange"]["secret"] == severalHosts.secret
    assert len(severalHosts.secret) >= 16


def deviceUrl(siteUrl: str) -> str:
    """The device vortex URL of a site."""
    return siteUrl.replace("http://", "ws://") + "/vortexws"


def test_devices_on_both_field_services_see_each_others_changes_processed_once(
    severalHosts, driver
):
    """Devices on field A and field B get the same items; an increment pushed from either
    is processed once on logic (the PostgreSQL row grows by exactly the pushes, each push
    gets one answer) and both devices observe every change."""
    devices = {"dev-a": "fieldA", "dev-b": "fieldB"}
    for device, host in devices.items():
        driver.call("device", name=device, url=deviceUrl(severalHosts.siteUrls[host]))
    first = {
        device: waitUntil(
            lambda d=device: (driver.call("latest", name=d) or {}).get("Apples"),
            f"{device} observes the items",
        )
        for device in devices
    }
    assert first["dev-a"] == first["dev-b"]
    itemId, start = first["dev-a"]["id"], first["dev-a"]["value"]

    def bothSee(value: int, what: str) -> None:
        for device in devices:

            def sees(d: str = device) -> bool:
                return driver.call("latest", name=d)["Apples"]["value"] == value

            waitUntil(sees, f"{device} observes {what}")

    pushes = {device: 0 for device in devices}

    def push(device: str) -> None:
        outcome = driver.call("increment", name=device, itemId=itemId, delta=1)
        assert outcome == {"ok": True}, outcome
        pushes[device] += 1

    push("dev-a")
    bothSee(start + 1, "dev-a's change")
    push("dev-b")
    bothSee(start + 2, "dev-b's change")
    for device in ["dev-a", "dev-b"] * 3:
        push(device)
    expected = start + sum(pushes.values())
    bothSee(expected, "every change")

    engine = createDbEngine(severalHosts.databaseUrl)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text('SELECT value, "lastChangedBy" FROM pl_noop."NoopItem" WHERE id = :id'),
                {"id": itemId},
            ).one()
    finally:
        engine.dispose()
    assert (row.value, row.lastChangedBy) == (expected, "an anonymous user")
    for device, pushed in pushes.items():
        assert list(driver.call("responseCounts", name=device).values()) == [1] * pushed


def test_tasks_submitted_by_logic_run_on_both_workers(severalHosts):
    """Tasks logic submits through Redis run on both worker services (logic logs each
    worker node that answered), and the workers' tasks write to the shared PostgreSQL."""
    nodes = [
        severalHosts.commands[name]
        .waitForLine(r"celery\.apps\.worker: (\S+) ready\.", timeout=START_SECONDS)
        .group(1)
        for name in ("worker1", "worker2")
    ]
    assert nodes[0] != nodes[1]
    for node in nodes:
        severalHosts.commands["logic"].waitForLine(rf"HOSTTEST task ran on {re.escape(node)}$")

    engine = createDbEngine(severalHosts.databaseUrl)
    try:

        def workerItem() -> Any:
            with engine.connect() as conn:
                return conn.execute(
                    text('SELECT value FROM pl_noop."NoopItem" WHERE name = :name'),
                    {"name": "Worker plums"},
                ).scalar()

        assert waitUntil(workerItem, "the noop worker batch wrote its items") == 10
    finally:
        engine.dispose()


def test_peek_status_lists_all_seven_services(severalHosts):
    """``peek status --json`` on logic's home reaches logic on 127.0.0.2 and lists the seven
    services, both field and both worker services included, each connected, by its pid."""
    logicHome = severalHosts.homes["logic"]

    def status() -> dict | None:
        done = subprocess.run(
            [consoleScript("peek"), "status", "--json", "--home", str(logicHome)],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        connected = [s for s in report["services"] if s["reported"] and s["connected"]]
        return report if len(connected) == len(HOSTS) else None

    report = waitUntil(status, "peek status lists seven connected services")
    assert report["url"] == f"ws://{LOGIC_ADDRESS}:{severalHosts.dataExchangePort}/vortexws"
    services = report["services"]
    assert [s["serviceKey"] for s in services] == [host.spec.key for host in HOSTS]
    assert {s["pid"] for s in services} == {c.pid for c in severalHosts.commands.values()}
