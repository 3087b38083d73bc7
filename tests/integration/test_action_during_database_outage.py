"""An action pushed while logic's PostgreSQL refuses connections is retried, not lost.

Real processes: logic on a database of the session's PostgreSQL server, one field service
(a kiosk site whose devices hold ``peek_plugin_noop.edit``) and a device link of
``several_hosts_driver.py``. The database is made to refuse (``ALLOW_CONNECTIONS false``
and logic's connections terminated), a noop increment is pushed, and only once the device
has been answered ``retry-later`` is the database opened again. The device's push client
pushes the same action again until it is applied: the item grows by exactly one step, one
uuid is recorded, and the device gets exactly one success answer.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from peek_platform.services import FIELD, LOGIC
from peek_platform.testing.ServiceProcess import consoleScript
from peek_plugin_base.testing.PostgreSQLTestServer import PostgreSQLTestServer

NOOP = "peek_plugin_noop"
DRIVER = Path(__file__).with_name("several_hosts_driver.py")
#: Seconds a service may take to start.
START_SECONDS = 60.0
#: Seconds the device driver may take to answer a request.
ANSWER_SECONDS = 60.0
DEVICE = "device0"


class AsyncDriver:
    """``several_hosts_driver.py`` as a process; a request's answer is read when asked for,
    so the test can act while an earlier request is still outstanding. A thread reads its
    answers, so waiting for one is bounded."""

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
        self._ops: dict[int, str] = {}
        self._answers: dict[int, Any] = {}
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put("")

    def send(self, op: str, **args: Any) -> int:
        """Send one request; its id."""
        assert self._process.stdin is not None
        self._nextId += 1
        self._ops[self._nextId] = op
        self._process.stdin.write(json.dumps({"id": self._nextId, "op": op, "args": args}) + "\n")
        self._process.stdin.flush()
        return self._nextId

    def answer(self, requestId: int) -> Any:
        """The result of request ``requestId`` (reading, and keeping, the others' answers)."""
        deadline = time.monotonic() + ANSWER_SECONDS
        while requestId not in self._answers:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no answer to {self._ops[requestId]!r} within {ANSWER_SECONDS} s")
            assert line, "the device driver exited"
            answer = json.loads(line)
            assert "error" not in answer, answer["error"]
            self._answers[answer["id"]] = answer["result"]
        return self._answers.pop(requestId)

    def request(self, op: str, **args: Any) -> Any:
        """Send one request and wait for its result."""
        return self.answer(self.send(op, **args))

    def close(self) -> None:
        """Close its stdin (it stops) and reap it."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(10)
        assert self._process.stdout is not None
        self._process.stdout.close()


@pytest.fixture
def driverFactory() -> Iterator[Callable[[dict[str, str]], AsyncDriver]]:
    """Starts device drivers; each is stopped at teardown."""
    drivers: list[AsyncDriver] = []

    def start(env: dict[str, str]) -> AsyncDriver:
        drivers.append(AsyncDriver(env))
        return drivers[-1]

    yield start
    for driver in drivers:
        driver.close()


class DatabaseSwitch:
    """Makes one database of the server refuse connections (dropping those it has) and
    accept them again, through a connection to the ``postgres`` database."""

    def __init__(self, server: PostgreSQLTestServer, databaseUrl: str) -> None:
        self.name = databaseUrl.rsplit("/", 1)[1]
        self._admin = psycopg2.connect(server.url("postgres"))
        self._admin.autocommit = True

    def refuse(self) -> None:
        with self._admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.name,),
            )

    def accept(self) -> None:
        with self._admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    def close(self) -> None:
        self.accept()
        self._admin.close()


def noopState(databaseUrl: str, itemName: str) -> tuple[int, int]:
    """The item's value and the number of recorded action uuids, read from PostgreSQL."""
    with psycopg2.connect(databaseUrl) as conn, conn.cursor() as cursor:
        cursor.execute('SELECT value FROM pl_noop."NoopItem" WHERE name = %s', (itemName,))
        item = cursor.fetchone()
        cursor.execute('SELECT count(*) FROM pl_noop."AppliedAction"')
        applied = cursor.fetchone()
    conn.close()
    assert item is not None and applied is not None
    return item[0], applied[0]


def test_action_during_postgres_outage_is_applied_once_after_it_returns(
    processes: Any,
    homeRoot: Path,
    writeServiceConfig: Callable[..., Path],
    waitFor: Callable[..., Any],
    driverFactory: Callable[[dict[str, str]], AsyncDriver],
    peekPostgresServer: PostgreSQLTestServer,
    peekPostgresUrl: str,
) -> None:
    """While the database refuses, the device is answered ``retry-later`` (not an error)
    and keeps pushing; after it accepts again the action is applied exactly once and the
    device gets exactly one success answer."""
    env = dict(os.environ, PEEK_HOME_ROOT=str(homeRoot), PYTHONUNBUFFERED="1")
    logicHome = homeRoot / LOGIC.homeDirName
    writeServiceConfig(
        LOGIC, logicHome, plugins=[NOOP], settings={"sqlalchemy.connectUrl": peekPostgresUrl}
    )
    logic = processes.command([consoleScript(LOGIC.command), "--home", str(logicHome)], env)
    port = logic.dataExchangePort()
    logic.waitForLine(rf"{LOGIC.vortexName} started: ", timeout=START_SECONDS)
    kiosk = {
        FIELD.sites[0].requireLoginKey: False,
        FIELD.sites[0].anonymousPermissionsKey: [f"{NOOP}.edit"],
    }
    fieldHome = homeRoot / FIELD.homeDirName
    writeServiceConfig(FIELD, fieldHome, plugins=[NOOP], dataExchangePort=port, settings=kiosk)
    field = processes.command([consoleScript(FIELD.command), "--home", str(fieldHome)], env)
    field.waitForLine(rf"{FIELD.vortexName} started: ", timeout=START_SECONDS)

    url = field.siteUrl(FIELD.sites[0].name).replace("http://", "ws://") + "/vortexws"
    driver = driverFactory(env)
    driver.request("device", name=DEVICE, url=url)
    items = waitFor(lambda: driver.request("latest", name=DEVICE), what="the noop items")
    before = noopState(peekPostgresUrl, "Apples")

    switch = DatabaseSwitch(peekPostgresServer, peekPostgresUrl)
    try:
        switch.refuse()
        pushed = driver.send("increment", name=DEVICE, itemId=items["Apples"]["id"], delta=1)
        codes = waitFor(lambda: driver.request("responseCodes", name=DEVICE), what="a first answer")
        assert codes[0] == "retry-later", codes
        switch.accept()
        assert driver.answer(pushed) == {"ok": True}
    finally:
        switch.close()

    codes = driver.request("responseCodes", name=DEVICE)
    assert codes[-1] is None and codes.count(None) == 1, codes
    assert set(codes[:-1]) == {"retry-later"}, codes
    value, applied = noopState(peekPostgresUrl, "Apples")
    assert (value, applied) == (before[0] + 1, before[1] + 1)
