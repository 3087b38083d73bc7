"""Logic's bulk extension: one compile in flight per index, changes meanwhile compile once
more, failures are retried, and versions move only when hashes change.

The worker is a stand-in that runs the real compile when the test says; the database is a
migrated SQLite platform schema; the RPCs are not registered (no vortex)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from peek_platform.bulk.logic import RETRY_SECONDS, BulkIndexExtension
from peek_platform.bulk.queue_db import compileQueued
from peek_platform.storage.platform_schema import PLATFORM_ALEMBIC_DIR, platformMetadata
from peek_plugin_base.bulk.ChunkedIndex import ChunkedIndex
from peek_plugin_base.storage.DbConnection import DbConnection

INDEX = ChunkedIndex("things", bucketForKey=lambda key: key[:1])


class Worker:
    """Stands in for Celery: records submissions; ``run()`` compiles the oldest for real."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.pending: list[tuple[Deferred[dict], tuple[str, str]]] = []

    def submit(self, task: Any, pluginName: str, indexName: str) -> Deferred[dict]:
        d: Deferred[dict] = Deferred()
        self.pending.append((d, (pluginName, indexName)))
        return d

    def run(self) -> None:
        d, (pluginName, indexName) = self.pending.pop(0)
        with self.engine.begin() as conn:
            result = compileQueued(conn, pluginName, indexName)
        d.callback(
            {
                "changed": len(result.changed),
                "rows": result.rowsCompiled,
                "remaining": result.remaining,
            }
        )

    def fail(self) -> None:
        d, _ = self.pending.pop(0)
        d.errback(RuntimeError("no worker"))


@pytest.fixture
def bulk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[BulkIndexExtension, Worker, Clock]]:
    """A started extension on a migrated SQLite platform schema, with an inline thread pool."""
    db = DbConnection(
        f"sqlite:///{tmp_path / 'peek.sqlite'}",
        platformMetadata,
        str(PLATFORM_ALEMBIC_DIR),
        enableCreateAll=False,
    )
    db.migrate()
    worker = Worker(db.dbEngine)
    storage = SimpleNamespace(platformDb=db, inThread=lambda fn, *args: succeed(fn(*args)))
    monkeypatch.setattr("peek_platform.bulk.logic.bulkStateRpc", _noRpc)
    monkeypatch.setattr("peek_platform.bulk.logic.bulkChunksRpc", _noRpc)
    clock = Clock()
    noVortex: Any = SimpleNamespace()
    extension = BulkIndexExtension(storage, lambda: worker.submit, lambda: noVortex)  # type: ignore[arg-type]
    extension.startBeforePlugins(SimpleNamespace(reactor=clock))  # type: ignore[arg-type]
    yield extension, worker, clock
    extension.stopAfterPlugins(SimpleNamespace(reactor=clock))  # type: ignore[arg-type]
    db.dispose()


def _noRpc() -> Any:
    return SimpleNamespace(start=lambda **kwargs: SimpleNamespace(shutdown=lambda: None))


def test_changes_queued_during_a_compile_make_one_more_compile(
    bulk: tuple[BulkIndexExtension, Worker, Clock],
) -> None:
    """While a compile is in flight, three more queueings submit nothing; when it ends,
    exactly one more compile is submitted, and it takes all three (newest value wins)."""
    extension, worker, _ = bulk
    publisher = extension.publisher("peek_plugin_x", INDEX)
    publisher.queueRows({"a1": 1})
    assert len(worker.pending) == 1
    for value in (2, 3, 4):
        publisher.queueRows({"a1": value, f"b{value}": value})
    assert len(worker.pending) == 1
    worker.run()
    assert len(worker.pending) == 1
    worker.run()
    assert worker.pending == []
    hashes = publisher.chunkHashes()
    assert set(hashes) == {"a", "b"}
    state = extension.state({})
    assert state["peek_plugin_x/things"]["hashes"] == hashes


def test_versions_move_only_when_hashes_change(
    bulk: tuple[BulkIndexExtension, Worker, Clock],
) -> None:
    """A caller that knows the current version gets None; queueing the same values again
    keeps the version, a new value moves it on."""
    extension, worker, _ = bulk
    publisher = extension.publisher("peek_plugin_x", INDEX)
    publisher.queueRows({"a1": 1})
    worker.run()
    version = extension.state({})["peek_plugin_x/things"]["version"]
    assert extension.state({"peek_plugin_x/things": version}) == {"peek_plugin_x/things": None}
    publisher.queueRows({"a1": 1})
    worker.run()
    assert extension.state({"peek_plugin_x/things": version})["peek_plugin_x/things"] is None
    publisher.queueRows({"a1": 2})
    worker.run()
    assert extension.state({"peek_plugin_x/things": version})["peek_plugin_x/things"] is not None


def test_a_failed_compile_is_submitted_again_later(
    bulk: tuple[BulkIndexExtension, Worker, Clock],
) -> None:
    """A compile that fails (no worker) is submitted again after ``RETRY_SECONDS``."""
    extension, worker, clock = bulk
    extension.publisher("peek_plugin_x", INDEX).queueRows({"a1": 1})
    worker.fail()
    assert worker.pending == []
    clock.advance(RETRY_SECONDS)
    assert len(worker.pending) == 1
    worker.run()
    assert set(extension.hashes("peek_plugin_x", "things")) == {"a"}
