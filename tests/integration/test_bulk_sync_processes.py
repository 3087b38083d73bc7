"""Bulk data sync with real processes: logic, worker (embedded broker) and field.

A test plugin on logic publishes a chunked index of 1,000 chunks (three rows each; the
bucket is the key's prefix). It queues the rows of each JSON file the test drops in a
directory and logs ``ITEST bulk queued <file>``. Devices are ``BulkSyncClient``\\ s signed
in on the field site, counting the bytes they receive.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peek_platform.bulk.client import BulkSyncClient, BulkSyncError
from peek_platform.services import FIELD, LOGIC, WORKER
from peek_platform.testing.ServiceProcess import ServiceProcess, consoleScript

pytestmark = pytest.mark.integration

PLUGIN = "peek_plugin_itest_bulk"
#: The shipped example: it publishes its items as the index "items".
NOOP = "peek_plugin_noop"
INDEX = "rows"
CHUNKS = 1000
ROWS_PER_CHUNK = 3
USER, PASSWORD = "dora", "dora-password-42"
#: Seconds a service may take to start.
START_SECONDS = 90.0

_PLUGIN_INIT = '''"""Integration-test plugin: queues the rows of each JSON file dropped in a dir."""

import json
import logging
import os
from pathlib import Path

from twisted.internet.task import LoopingCall

from peek_plugin_base.bulk.ChunkedIndex import ChunkedIndex
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC

logger = logging.getLogger(__name__)

INDEX = ChunkedIndex("rows", bucketForKey=lambda key: key.split("-")[0])


class LogicHook(PluginLogicEntryHookABC):
    def load(self):
        pass

    def start(self):
        self._publisher = self.platform.chunkedIndexPublisher(INDEX)
        self._dir = Path(os.environ["ITEST_BULK_DIR"])
        self._busy = False
        self._loop = LoopingCall(self._poll)
        self._loop.start(0.05)

    def _poll(self):
        if self._busy:
            return
        files = sorted(self._dir.glob("*.json"))
        if not files:
            return
        path = files[0]
        rows = json.loads(path.read_text())
        path.rename(path.with_suffix(".queued"))
        self._busy = True

        def queued(count):
            self._busy = False
            logger.info("ITEST bulk queued %s %s", path.name, count)

        self._publisher.queueRows(rows).addCallback(queued)

    def stop(self):
        self._loop.stop()

    def unload(self):
        pass


def peekLogicEntryHook():
    return LogicHook
'''


def key(chunk: int, row: int) -> str:
    """The key of row ``row`` of chunk ``chunk``; its prefix is the bucket."""
    return f"b{chunk:04d}-{row}"


def dataSet() -> dict[str, Any]:
    """1,000 chunks of three rows."""
    return {
        key(c, r): {"name": f"asset {c}/{r}", "value": c * 10 + r, "pad": "x" * 40}
        for c in range(CHUNKS)
        for r in range(ROWS_PER_CHUNK)
    }


class BulkPlatform:
    """Logic, worker and field with the test plugin; files dropped become queued rows."""

    def __init__(
        self,
        processes: Any,
        homeRoot: Path,
        tmp: Path,
        writeConfig: Callable,
        dbUrl: str | None = None,
    ) -> None:
        self.processes = processes
        #: ``sqlalchemy.connectUrl`` of logic and the worker (None: embedded SQLite).
        self.dbUrl = dbUrl
        self.homeRoot = homeRoot
        self.dropDir = tmp / "drop"
        self.dropDir.mkdir()
        pluginDir = tmp / "plugins"
        package = pluginDir / PLUGIN
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(_PLUGIN_INIT, encoding="utf-8")
        metadata = {
            "plugin": {"title": "Bulk test", "packageName": PLUGIN, "version": "0.0.1"},
            "requiresServices": ["logic"],
        }
        (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
        self.env = dict(os.environ, PEEK_HOME_ROOT=str(homeRoot), PYTHONUNBUFFERED="1")
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(pluginDir), self.env.get("PYTHONPATH")])
        )
        self.env["ITEST_BULK_DIR"] = str(self.dropDir)
        self.writeConfig = writeConfig
        self.homes = {spec.key: homeRoot / spec.homeDirName for spec in (LOGIC, WORKER, FIELD)}
        self.drops = 0
        self.logic = self.start(LOGIC, plugins=[PLUGIN, NOOP])
        self.port = self.logic.dataExchangePort()
        added = subprocess.run(
            [consoleScript("peek"), "user", "add", USER, "--home", str(self.homes["logic"])],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert added.returncode == 0, added.stderr

    def start(self, spec: Any, plugins: list[str] | None = None) -> ServiceProcess:
        """Write ``spec``'s config (first time) and start it; wait until it has started."""
        home = self.homes[spec.key]
        if not (home / "config.json").exists():
            port = 0 if spec is LOGIC else self.port
            settings: dict[str, Any] = {"bulkSync.pollSeconds": 0.1} if spec is FIELD else {}
            if spec is not FIELD and self.dbUrl is not None:
                settings["sqlalchemy.connectUrl"] = self.dbUrl
            self.writeConfig(
                spec, home, plugins=plugins or [], dataExchangePort=port, settings=settings
            )
        command = self.processes.command(
            [consoleScript(spec.command), "--home", str(home)], self.env
        )
        command.waitForLine(rf"{spec.vortexName} started: ", timeout=START_SECONDS)
        return command

    def queue(self, rows: dict[str, Any]) -> None:
        """Have the plugin queue ``rows``; returns once they are stored in the queue."""
        self.drops += 1
        name = f"{self.drops:04d}.json"
        (self.dropDir / f"{name}.tmp").write_text(json.dumps(rows), encoding="utf-8")
        (self.dropDir / f"{name}.tmp").rename(self.dropDir / name)
        self.logic.waitForLine(rf"ITEST bulk queued {self.drops:04d}\.json", timeout=60)


@pytest.fixture
def clients() -> Iterator[Callable[..., BulkSyncClient]]:
    """``clients(url, dbPath, index, plugin, **kwargs)`` makes device clients (of the test
    plugin's index by default), closed at the end."""
    made: list[BulkSyncClient] = []

    def make(
        url: str, dbPath: Path, index: str = INDEX, plugin: str = PLUGIN, **kwargs: Any
    ) -> BulkSyncClient:
        made.append(BulkSyncClient(url, plugin, index, dbPath, **kwargs))
        return made[-1]

    yield make
    for client in made:
        client.close()


def fieldHashes(client: BulkSyncClient) -> dict[str, str]:
    """The field's hashes, or {} while it has none for the index."""
    try:
        return client.remoteHashes()
    except BulkSyncError as e:
        assert e.status == 404
        return {}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_large_index_reaches_a_device_and_one_changed_row_costs_one_chunk(
    database: str,
    request: pytest.FixtureRequest,
    processes: Any,
    homeRoot: Path,
    tmp_path: Path,
    writeServiceConfig: Callable[..., Path],
    waitFor: Callable[..., Any],
    clients: Callable[..., BulkSyncClient],
) -> None:
    """1,000 chunks compiled by the worker reach a signed-in device through the field; a
    key queued eleven times before compiling is compiled once with its newest value; one
    changed row makes the device download exactly its chunk; noop's items index reaches
    a device too; unknown indexes are 404 and a device that is not signed in is refused.
    On logic's embedded SQLite and on PostgreSQL."""
    dbUrl = None if database == "sqlite" else request.getfixturevalue("peekPostgresUrl")
    platform = BulkPlatform(processes, homeRoot, tmp_path, writeServiceConfig, dbUrl)
    field = platform.start(FIELD)
    url = field.siteUrl(FIELD.sites[0].name)
    rows = dataSet()
    # Queued while no worker runs: everything waits in the queue, one key eleven times.
    platform.queue(rows)
    for value in range(1, 11):
        platform.queue({key(7, 0): {"name": "newest wins", "value": value}})
    platform.start(WORKER, plugins=[NOOP])

    phone = clients(url, tmp_path / "phone.sqlite")
    phone.logIn(USER, PASSWORD)
    waitFor(lambda: len(fieldHashes(phone)) == CHUNKS, timeout=120, what="1,000 chunks on field")
    compiled = re.findall(rf"compiled {PLUGIN}/rows: (\d+) rows", platform.logic.output())
    # 3,000 rows, not 3,010: the key queued eleven times was compiled once.
    assert sum(int(rows) for rows in compiled) == CHUNKS * ROWS_PER_CHUNK, compiled

    first = phone.sync()
    assert (first.downloaded, first.upToDate) == (CHUNKS, 0)
    copy = phone.rows()
    assert len(copy) == CHUNKS * ROWS_PER_CHUNK
    assert copy[key(7, 0)] == {"name": "newest wins", "value": 10}
    assert copy[key(999, 2)] == rows[key(999, 2)]

    before = phone.localHashes()
    platform.queue({key(500, 1): {"name": "changed", "value": -1}})
    waitFor(
        lambda: fieldHashes(phone).get("b0500") not in (None, before["b0500"]),
        what="the changed chunk's new hash on field",
    )
    second = phone.sync()
    assert (second.downloaded, second.upToDate) == (1, CHUNKS - 1)
    assert phone.rows()[key(500, 1)] == {"name": "changed", "value": -1}
    changed = {b for b, h in phone.localHashes().items() if before[b] != h}
    assert changed == {"b0500"}
    # The hash list and one chunk, against the hash list and every chunk (these chunks are
    # tiny, so the hash list is most of it; the bench measures realistic chunk sizes).
    assert second.bytesReceived < first.bytesReceived / 10

    noop = clients(url, tmp_path / "noop.sqlite", "items", NOOP, cookies=phone.cookies)
    waitFor(lambda: fieldHashes(noop), what="noop's items index on field")
    noop.sync()
    names = {row["name"] for row in noop.rows().values()}
    assert {"Apples", "Pears"} <= names, names

    unknown = clients(url, tmp_path / "unknown.sqlite", "no-such-index", cookies=phone.cookies)
    with pytest.raises(BulkSyncError) as missing:
        unknown.remoteHashes()
    assert missing.value.status == 404
    stranger = clients(url, tmp_path / "stranger.sqlite")
    with pytest.raises(BulkSyncError) as refused:
        stranger.sync()
    assert refused.value.status == 401
    assert stranger.localHashes() == {}


def test_a_sync_cut_off_by_a_stopped_field_resumes_without_starting_over(
    processes: Any,
    homeRoot: Path,
    tmp_path: Path,
    writeServiceConfig: Callable[..., Path],
    waitFor: Callable[..., Any],
    clients: Callable[..., BulkSyncClient],
) -> None:
    """The field is killed while a device is part way through its first sync; restarted
    with logic down, it serves what it kept, and the device downloads only the chunks it
    had not saved yet."""
    platform = BulkPlatform(processes, homeRoot, tmp_path, writeServiceConfig)
    platform.start(WORKER, plugins=[NOOP])
    field = platform.start(FIELD)
    url = field.siteUrl(FIELD.sites[0].name)
    platform.queue(dataSet())
    phone = clients(url, tmp_path / "phone.sqlite")
    phone.logIn(USER, PASSWORD)
    waitFor(lambda: len(fieldHashes(phone)) == CHUNKS, timeout=120, what="1,000 chunks on field")
    full = dict(fieldHashes(phone))

    saved: list[str] = []
    killing = threading.Lock()

    def killFieldPartWay(bucket: str) -> None:
        # Called from the client's download threads: the first to see 300 saved kills.
        with killing:
            saved.append(bucket)
            if len(saved) == 300:
                field.kill()

    phone.onSaved = killFieldPartWay
    with pytest.raises(OSError):
        phone.sync()
    kept = phone.localHashes()
    # The downloads already under way when the field died may have finished.
    assert 300 <= len(kept) < CHUNKS
    assert all(full[bucket] == digest for bucket, digest in kept.items())

    platform.logic.kill()
    restarted = platform.start(FIELD)
    # The same device: its saved chunks and its login session (kept by the field).
    again = clients(
        restarted.siteUrl(FIELD.sites[0].name), tmp_path / "phone.sqlite", cookies=phone.cookies
    )
    resumed = again.sync()
    assert (resumed.downloaded, resumed.upToDate) == (CHUNKS - len(kept), len(kept))
    assert again.localHashes() == full
