"""Concurrent device actions on the embedded SQLite: none fails, each is applied once.

Real processes: logic on its embedded SQLite default, one field service (a kiosk site whose
devices hold ``peek_plugin_noop.edit``), 50 device links of ``several_hosts_driver.py``
pushing noop's increment action four times each, all at once, and, in the second case, a
worker service whose Celery task reads then writes a row of the same database in a loop
for as long as the actions run. Every action must be answered successfully (before the
sessions began ``IMMEDIATE``, most failed "database is locked") and the items must end at
their start values plus the actions applied to them; the worker's own writes all land too.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peek_platform.celery.settings import embeddedBrokerUrl, embeddedResultUrl
from peek_platform.services import FIELD, LOGIC, WORKER
from peek_platform.testing.ServiceProcess import consoleScript

NOOP = "peek_plugin_noop"
#: The test plugin whose worker task writes the noop table in a loop.
LOAD_PLUGIN = "peek_plugin_itest_dbload"
DRIVER = Path(__file__).with_name("several_hosts_driver.py")
#: The items noop seeds; the actions alternate between them.
SEED_ITEMS = ("Apples", "Pears")
DEVICES = 50
ACTIONS_PER_DEVICE = 4
#: Seconds a service may take to start.
START_SECONDS = 60.0
#: The row the worker task increments (one transaction per increment).
WORKER_ROW = "Worker writes"

_LOAD_INIT = '''"""Test plugin: logic submits a worker task writing the noop table until told."""

import logging
import os

from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC

logger = logging.getLogger(__name__)


class LogicHook(PluginLogicEntryHookABC):
    def load(self):
        pass

    def start(self):
        from peek_plugin_itest_dbload.tasks import writeUntilStopped

        d = self.platform.submitCeleryTask(writeUntilStopped, os.environ["ITEST_DBLOAD_STOP"])
        d.addCallbacks(
            lambda writes: logger.info("ITEST dbload wrote %s", writes),
            lambda failure: logger.error("ITEST dbload failed %s", failure.getTraceback()),
        )

    def stop(self):
        pass

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
        return ["peek_plugin_itest_dbload.tasks"]


def peekLogicEntryHook():
    return LogicHook


def peekWorkerEntryHook():
    return WorkerHook
'''

_LOAD_TASKS = '''"""The worker task: a noop row read then written, once per transaction."""

import os

from peek_plugin_base.worker import CeleryDbConn
from peek_plugin_base.worker.CeleryApp import celeryApp
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple


@celeryApp.task(bind=True)
def writeUntilStopped(self, stopPath):
    writes = 0
    while writes == 0 or not os.path.exists(stopPath):
        session = CeleryDbConn.getDbSession()
        row = session.query(NoopItemTuple).filter(NoopItemTuple.name == "{row}").one_or_none()
        if row is None:
            session.add(NoopItemTuple(name="{row}", value=1))
        else:
            row.value += 1
        session.commit()
        writes += 1
    return writes
'''


@pytest.fixture(scope="module")
def loadPluginDir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the worker-load test plugin (for ``PYTHONPATH``)."""
    directory = tmp_path_factory.mktemp("itest-dbload")
    package = directory / LOAD_PLUGIN
    package.mkdir()
    (package / "__init__.py").write_text(_LOAD_INIT, encoding="utf-8")
    (package / "tasks.py").write_text(_LOAD_TASKS.replace("{row}", WORKER_ROW), encoding="utf-8")
    metadata = {
        "plugin": {"title": "DB load", "packageName": LOAD_PLUGIN, "version": "0.0.1"},
        "requiresServices": ["logic", "worker"],
    }
    (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


class Driver:
    """``several_hosts_driver.py`` as a process: JSON requests in, answers by id out."""

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self._nextId = 0

    def requests(self, *requests: tuple[str, dict]) -> list[Any]:
        """Send every ``(op, args)`` at once (they run concurrently); their results in order."""
        assert self._process.stdin is not None and self._process.stdout is not None
        ids = []
        for op, args in requests:
            self._nextId += 1
            ids.append(self._nextId)
            self._process.stdin.write(json.dumps({"id": self._nextId, "op": op, "args": args}))
            self._process.stdin.write("\n")
        self._process.stdin.flush()
        answers: dict[int, Any] = {}
        while len(answers) < len(ids):
            line = self._process.stdout.readline()
            assert line, "the device driver exited"
            answer = json.loads(line)
            assert "error" not in answer, answer["error"]
            answers[answer["id"]] = answer["result"]
        return [answers[i] for i in ids]

    def close(self) -> None:
        """Close its stdin (it stops) and reap it."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        assert self._process.stdout is not None
        self._process.stdout.close()


@pytest.fixture
def driverFactory() -> Iterator[Callable[[dict[str, str]], Driver]]:
    """Starts device drivers; each is stopped at teardown."""
    drivers: list[Driver] = []

    def start(env: dict[str, str]) -> Driver:
        drivers.append(Driver(env))
        return drivers[-1]

    yield start
    for driver in drivers:
        driver.close()


def noopValues(logicHome: Path) -> dict[str, int]:
    """Every noop item's value, read from logic's SQLite file as it is now."""
    with sqlite3.connect(f"file:{logicHome / 'pl_noop.sqlite'}?mode=ro", uri=True) as db:
        return dict(db.execute('SELECT name, value FROM "NoopItem"').fetchall())


def startService(processes: Any, spec: Any, home: Path, env: dict[str, str]) -> Any:
    """Start ``spec``'s command for ``home`` with ``env``; wait until it has started."""
    command = processes.command([consoleScript(spec.command), "--home", str(home)], env)
    command.waitForLine(rf"{spec.vortexName} started: ", timeout=START_SECONDS)
    return command


@pytest.mark.parametrize("withWorker", [False, True], ids=["actions", "actions+worker"])
def test_concurrent_device_actions_on_sqlite_all_succeed_exactly_once(
    withWorker: bool,
    processes: Any,
    homeRoot: Path,
    tmp_path: Path,
    loadPluginDir: Path,
    writeServiceConfig: Callable[..., Path],
    waitFor: Callable[..., Any],
    driverFactory: Callable[[dict[str, str]], Driver],
) -> None:
    """200 actions from 50 device links at once (and a worker task writing the same
    database meanwhile): every one answered ok, each item ends at its start value plus its
    actions, and every write the worker task made is in the database."""
    logicHome = homeRoot / LOGIC.homeDirName
    stopFile = tmp_path / "stop-writing"
    env = dict(os.environ, PEEK_HOME_ROOT=str(homeRoot), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(loadPluginDir), env.get("PYTHONPATH")]))
    env["ITEST_DBLOAD_STOP"] = str(stopFile)
    plugins = [NOOP, LOAD_PLUGIN] if withWorker else [NOOP]
    writeServiceConfig(LOGIC, logicHome, plugins=plugins)
    logic = processes.command([consoleScript(LOGIC.command), "--home", str(logicHome)], env)
    port = logic.dataExchangePort()
    logic.waitForLine(rf"{LOGIC.vortexName} started: ", timeout=START_SECONDS)
    kiosk = {
        FIELD.sites[0].requireLoginKey: False,
        FIELD.sites[0].anonymousPermissionsKey: [f"{NOOP}.edit"],
    }
    fieldHome = homeRoot / FIELD.homeDirName
    writeServiceConfig(FIELD, fieldHome, plugins=[NOOP], dataExchangePort=port, settings=kiosk)
    field = startService(processes, FIELD, fieldHome, env)
    if withWorker:
        workerHome = homeRoot / WORKER.homeDirName
        settings = {
            "celery.brokerUrl": embeddedBrokerUrl(logicHome),
            "celery.resultUrl": embeddedResultUrl(logicHome),
            "celery.workerConcurrency": 1,
            "sqlalchemy.connectUrl": f"sqlite:///{logicHome / 'peek.sqlite'}",
        }
        writeServiceConfig(
            WORKER,
            workerHome,
            plugins=[NOOP, LOAD_PLUGIN],
            dataExchangePort=port,
            settings=settings,
        )
        startService(processes, WORKER, workerHome, env)
        # The task is writing before the first action is pushed.
        waitFor(lambda: noopValues(logicHome).get(WORKER_ROW, 0) > 0, what="worker writes")

    url = field.siteUrl(FIELD.sites[0].name).replace("http://", "ws://") + "/vortexws"
    driver = driverFactory(env)
    names = [f"device{i}" for i in range(DEVICES)]
    driver.requests(*(("device", {"name": name, "url": url}) for name in names))
    latest = waitFor(lambda: driver.requests(("latest", {"name": names[-1]}))[0], what="items")
    items = list(SEED_ITEMS)
    before = noopValues(logicHome)
    workerBefore = before.get(WORKER_ROW, 0)

    pushes = [
        ("increment", {"name": name, "itemId": latest[items[(d + n) % 2]]["id"], "delta": 1})
        for d, name in enumerate(names)
        for n in range(ACTIONS_PER_DEVICE)
    ]
    answers = driver.requests(*pushes)

    failed = [answer for answer in answers if not answer["ok"]]
    assert not failed, f"{len(failed)} of {len(answers)} actions failed, e.g. {failed[:3]}"
    after = noopValues(logicHome)
    perItem = len(pushes) // 2
    assert {name: after[name] for name in items} == {name: before[name] + perItem for name in items}
    assert "database is locked" not in logic.output()
    if withWorker:
        # The worker wrote while the actions ran, then stops; all its writes are there.
        assert after[WORKER_ROW] > workerBefore
        stopFile.touch()
        writes = int(logic.waitForLine(r"ITEST dbload wrote (\d+)").group(1))
        assert noopValues(logicHome)[WORKER_ROW] == writes
