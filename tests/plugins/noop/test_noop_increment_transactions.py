"""A noop increment is one database transaction, also on the embedded SQLite, where each
write transaction of logic queues on the write gate."""

from __future__ import annotations

import importlib

from sqlalchemy import event

from peek_plugin_base.storage.DbConnection import DbConnection


class _Settings:
    """The plugin settings the controller reads: a step of 1."""

    def getBlocking(self, name: str) -> int:
        assert name == "incrementStep"
        return 1


def test_an_increment_begins_one_transaction(noopSqlite: DbConnection) -> None:
    """Applying an increment (record the action, lock and change the row, commit, log the new
    value) begins one transaction. Logging the row after the commit used to reload it in a
    second one, which on SQLite took the write gate a second time for every action."""
    controllerModule = importlib.import_module(
        "peek_plugin_noop._private.logic.controller.MainController"
    )
    NoopItemTuple = importlib.import_module(
        "peek_plugin_noop._private.storage.NoopItem"
    ).NoopItemTuple
    action = importlib.import_module(
        "peek_plugin_noop._private.tuples.NoopIncrementActionTuple"
    ).NoopIncrementActionTuple
    sessions = noopSqlite.ormSessionCreator
    with sessions() as session:
        item = NoopItemTuple(name="Counted", value=0)
        session.add(item)
        session.commit()
        itemId = item.id
    controller = controllerModule.MainController(sessions, None, _Settings())
    begun: list[object] = []
    event.listen(noopSqlite.dbEngine, "begin", begun.append)

    controller._processIncrement(action(itemId=itemId, delta=1), "tester")

    assert len(begun) == 1
    with sessions() as session:
        assert session.get(NoopItemTuple, itemId).value == 1
