"""The noop Celery task writes by key, so running it again leaves the table unchanged."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.worker import CeleryDbConn


@pytest.fixture
def workerDb(noopOnPath: Path, tmp_path: Path) -> Iterator[DbConnection]:
    """A SQLite database migrated to noop's newest revision, used as the task database."""
    base = importlib.import_module("peek_plugin_noop._private.storage.DeclarativeBase")
    base.loadStorageTuples()
    url = f"sqlite:///{tmp_path / 'peek.sqlite'}"
    db = DbConnection(
        url,
        base.metadata,
        str(noopOnPath / "_private" / "alembic"),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )
    db.migrate()
    CeleryDbConn.configureWorkerDb(url, attachSchemas=["pl_noop"])
    yield db
    CeleryDbConn.processDbConn.shutdown()
    db.dispose()


def _runTask(name: str, value: int) -> dict:
    """Run ``upsertNoopItem`` as a worker does: in the task's session, closed afterwards."""
    tasks = importlib.import_module("peek_plugin_noop._private.worker.tasks.NoopItemTasks")
    try:
        return tasks.upsertNoopItem(name, value)
    finally:
        CeleryDbConn.processDbConn.endTask()


def test_upsertIsIdempotentAndKeyedByName(workerDb: DbConnection) -> None:
    """The first run inserts the item, a repeat returns the same row, a new value updates it."""
    NoopItemTuple = importlib.import_module(
        "peek_plugin_noop._private.storage.NoopItem"
    ).NoopItemTuple

    first = _runTask("Worker plums", 10)
    again = _runTask("Worker plums", 10)
    changed = _runTask("Worker plums", 11)

    assert first == again == {"id": first["id"], "name": "Worker plums", "value": 10}
    assert changed == {**first, "value": 11}
    with workerDb.ormSessionCreator() as session:
        assert session.scalar(select(func.count()).select_from(NoopItemTuple)) == 1
