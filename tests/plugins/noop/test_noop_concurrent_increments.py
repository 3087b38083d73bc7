"""Noop increments of one item made at the same time on PostgreSQL are all applied."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.testing.PostgreSQLTestServer import PostgreSQLTestServer

#: Threads incrementing at once, and increments each makes.
THREADS = 6
INCREMENTS = 15


class _Settings:
    """The plugin settings the controller reads: a step of 1."""

    def getBlocking(self, name: str) -> int:
        assert name == "incrementStep"
        return 1


@pytest.fixture
def noopPostgres(noopOnPath: Path, peekPostgresServer: PostgreSQLTestServer) -> Iterator:
    """Noop's tables migrated on a new PostgreSQL database; its DbConnection."""
    base = importlib.import_module("peek_plugin_noop._private.storage.DeclarativeBase")
    base.loadStorageTuples()
    db = DbConnection(
        peekPostgresServer.createDatabase(),
        base.metadata,
        str(noopOnPath / "_private" / "alembic"),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )
    db.migrate()
    yield db
    db.dispose()


def test_simultaneous_increments_of_one_item_are_all_applied(noopPostgres: DbConnection):
    """Threads incrementing one item at the same time (as logic's thread pool does for many
    devices' actions) lose no increment: each reads the value the previous one wrote."""
    controllerModule = importlib.import_module(
        "peek_plugin_noop._private.logic.controller.MainController"
    )
    NoopItemTuple = importlib.import_module(
        "peek_plugin_noop._private.storage.NoopItem"
    ).NoopItemTuple
    action = importlib.import_module(
        "peek_plugin_noop._private.tuples.NoopIncrementActionTuple"
    ).NoopIncrementActionTuple
    sessions = noopPostgres.ormSessionCreator
    with sessions() as session:
        item = NoopItemTuple(name="Counted", value=0)
        session.add(item)
        session.commit()
        itemId = item.id
    controller = controllerModule.MainController(sessions, None, _Settings())
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def increment() -> None:
        start.wait()
        try:
            for _ in range(INCREMENTS):
                controller._processIncrement(action(itemId=itemId, delta=1), "tester")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=increment) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with sessions() as session:
        assert session.get(NoopItemTuple, itemId).value == THREADS * INCREMENTS
