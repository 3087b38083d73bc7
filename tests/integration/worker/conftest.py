"""Fixtures for the worker integration tests: Redis, a task plugin, worker services, logic.

Worker services run as real processes (``python -m peek_worker_service``), each with its
Celery child. "Logic" is ``logic_driver.py`` run as a subprocess with a real reactor.
Redis is a real ``redis-server`` on a free port; when it is not installed the tests fail.
Homes, configs, processes and waits come from ``tests/integration/conftest.py``; the
workers' status link points at a port that refuses connections, as no logic runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from peek_platform.celery.settings import embeddedBrokerUrl, embeddedResultUrl
from peek_platform.services import LOGIC, WORKER
from peek_plugin_base.testing.FreePort import freeTcpPortBlock
from peek_plugin_base.testing.RedisTestServer import RedisTestServer

#: Seconds a worker service may take to start its Celery child.
READY_SECONDS = 20.0
#: Name of the task plugin written by the ``taskPlugin`` fixture.
PLUGIN = "peek_plugin_witest"
DRIVER = Path(__file__).with_name("logic_driver.py")

_PLUGIN_INIT = '''"""Worker integration-test plugin."""

from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC


class WorkerEntryHook(PluginWorkerEntryHookABC):
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
        return ["peek_plugin_witest.tasks"]


def peekWorkerEntryHook():
    return WorkerEntryHook
'''

_PLUGIN_TASKS = '''"""Tasks written as the manual's plugin tutorial writes them."""

import os
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String
from sqlalchemy.orm import declarative_base

from peek_plugin_base.worker import CeleryDbConn
from peek_plugin_base.worker.CeleryApp import celeryApp

DeclarativeBase = declarative_base(metadata=MetaData(schema="pl_witest"))


class Note(DeclarativeBase):
    __tablename__ = "Note"
    id = Column(Integer, primary_key=True, autoincrement=True)
    text = Column(String, nullable=False)


@celeryApp.task(bind=True)
def add(self, x, y):
    return x + y


@celeryApp.task(bind=True)
def fail(self, message):
    raise ValueError(message)


@celeryApp.task(bind=True)
def whoAmI(self, seconds):
    time.sleep(seconds)
    return self.request.hostname


@celeryApp.task(bind=True)
def slowOnFirstAttempt(self, markerDir, seconds):
    """Record this attempt's pid; the first attempt sleeps long enough to be killed."""
    attempts = Path(markerDir) / "attempts"
    with attempts.open("a") as f:
        f.write(f"{os.getpid()}\\n")
    count = len(attempts.read_text().split())
    if count == 1:
        time.sleep(seconds)
    return count


@celeryApp.task(bind=True)
def sleepThenReturn(self, seconds, value):
    print("WITEST sleepThenReturn running", flush=True)
    time.sleep(seconds)
    return value


@celeryApp.task(bind=True)
def writeNote(self, text):
    session = CeleryDbConn.getDbSession()
    note = Note(id=next(CeleryDbConn.prefetchDeclarativeIds(Note, 1)), text=text)
    session.add(note)
    session.commit()
    return note.id
'''


@pytest.fixture(scope="session")
def redisServer() -> Iterator[RedisTestServer]:
    """A real redis-server on a free port below the ephemeral range, without persistence."""
    server = RedisTestServer(port=freeTcpPortBlock([0]))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def taskPluginDir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the task plugin package (for ``PYTHONPATH``)."""
    directory = tmp_path_factory.mktemp("witest-plugins")
    package = directory / PLUGIN
    package.mkdir()
    (package / "__init__.py").write_text(_PLUGIN_INIT, encoding="utf-8")
    (package / "tasks.py").write_text(_PLUGIN_TASKS, encoding="utf-8")
    metadata = {
        "plugin": {"title": "Worker itest", "packageName": PLUGIN, "version": "0.0.1"},
        "requiresServices": ["worker"],
        "worker": {},
    }
    (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


@dataclass
class Deployment:
    """One single-host layout: home root, broker choice, and how to run each process."""

    root: Path
    broker: str
    celery: dict
    env: dict[str, str]
    processes: Any
    writeServiceConfig: Callable[..., Path]
    #: Where the workers' status link points: nothing listens there (no logic runs).
    refusedPort: int

    @property
    def logicHome(self) -> Path:
        return self.root / LOGIC.homeDirName

    @property
    def databaseUrl(self) -> str:
        return f"sqlite:///{self.logicHome / 'peek.sqlite'}"

    def startWorker(self, name: str = "w1", concurrency: int = 2) -> Any:
        """Start a worker service in its own home and wait until its Celery child is ready."""
        home = self.root / name / WORKER.homeDirName
        settings = {
            "celery.brokerUrl": self.celery.get("brokerUrl", ""),
            "celery.resultUrl": self.celery.get("resultUrl", ""),
            "celery.workerConcurrency": concurrency,
            "sqlalchemy.connectUrl": self.databaseUrl,
        }
        self.writeServiceConfig(
            WORKER,
            home,
            plugins=[PLUGIN],
            dataExchangePort=self.refusedPort,
            settings=settings,
        )
        command = self.processes.command(
            [sys.executable, "-m", "peek_worker_service", "--home", str(home)], self.env
        )
        command.waitForLine(r"celery\.apps\.worker: \S+ ready\.", timeout=READY_SECONDS)
        return command

    def logic(self, *args: str, timeout: float = 60.0) -> dict:
        """Run the logic driver with ``args``; return its JSON report."""
        argv = [sys.executable, str(DRIVER), *args, "--home", str(self.logicHome)]
        try:
            done = subprocess.run(
                argv, env=self.env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as e:
            pytest.fail(
                f"logic driver still running after {timeout} s (the workers' output is in "
                f"the report):\n{e.stdout}\n{e.stderr}"
            )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            pytest.fail(f"logic driver failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        report = json.loads(lines[-1])
        if "crash" in report:
            pytest.fail(f"logic driver crashed: {report['crash']}\n{done.stderr}")
        return report

    def calls(self, *calls: tuple[str, list]) -> list[dict]:
        """Submit ``(taskName, args)`` calls concurrently from logic; their outcomes."""
        payload = json.dumps([[f"{PLUGIN}.tasks.{name}", args] for name, args in calls])
        return self.logic("calls", payload)["outcomes"]


@pytest.fixture(params=["redis", "embedded"])
def deployment(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    taskPluginDir: Path,
    processes: Any,
    writeServiceConfig: Callable[..., Path],
    refusedPort: int,
) -> Deployment:
    """A fresh home root using Redis (databases 0/1, flushed) or the embedded broker."""
    celery: dict = {}
    if request.param == "redis":
        redis = request.getfixturevalue("redisServer")
        redis.flush()
        celery = {"brokerUrl": redis.url(0), "resultUrl": redis.url(1)}
    root = tmp_path / "root"
    logicHome = root / LOGIC.homeDirName
    # Logic keeps the defaults (embedded: empty URLs); workers live in their own
    # directories, so they name the logic home's embedded store explicitly.
    writeServiceConfig(
        LOGIC, logicHome, settings={f"celery.{key}": url for key, url in celery.items()}
    )
    if request.param == "embedded":
        celery = {
            "brokerUrl": embeddedBrokerUrl(logicHome),
            "resultUrl": embeddedResultUrl(logicHome),
        }
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(taskPluginDir), env.get("PYTHONPATH", "")) if p
    )
    return Deployment(root, request.param, celery, env, processes, writeServiceConfig, refusedPort)


@pytest.fixture
def restartableResultStoreDeployment(
    tmp_path: Path,
    taskPluginDir: Path,
    processes: Any,
    writeServiceConfig: Callable[..., Path],
    refusedPort: int,
) -> Iterator[tuple[Deployment, RedisTestServer]]:
    """A deployment whose result store is a Redis of its own that keeps its data across
    ``restart()`` (the broker is another Redis), and that result store. Logic gives up on a
    result after 120 s, so a lost one fails in bounded time."""
    broker = RedisTestServer()
    results = RedisTestServer(persistent=True)
    broker.start()
    try:
        results.start()
        celery = {"brokerUrl": broker.url(0), "resultUrl": results.url(0)}
        root = tmp_path / "root"
        settings = {f"celery.{key}": url for key, url in celery.items()}
        writeServiceConfig(
            LOGIC,
            root / LOGIC.homeDirName,
            settings={**settings, "celery.resultTimeoutSeconds": 120},
        )
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(taskPluginDir), env.get("PYTHONPATH", "")) if p
        )
        yield (
            Deployment(root, "redis", celery, env, processes, writeServiceConfig, refusedPort),
            results,
        )
    finally:
        results.stop()
        broker.stop()
