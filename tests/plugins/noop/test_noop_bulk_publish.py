"""Noop republishes its bulk index at most once more after the publish that is running, so
a burst of item changes costs two publishes instead of one per change (each publish reads
every item and queues every row), and the last publish carries the final values."""

from __future__ import annotations

import importlib
from typing import Any

from twisted.internet import defer

from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.testing.ReactorWait import waitForDeferred


class _RecordingPublisher:
    """The platform's publisher as noop sees it: records each ``queueRows`` call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def queueRows(self, rows: dict[str, Any]) -> defer.Deferred[int]:
        self.calls.append(dict(rows))
        return defer.succeed(len(rows))


class _Platform:
    """A logic platform hook that hands out one recording publisher."""

    def __init__(self) -> None:
        self.publisher = _RecordingPublisher()

    def chunkedIndexPublisher(self, index: Any) -> _RecordingPublisher:
        assert index.name == "items"
        return self.publisher


def test_a_burst_of_changes_costs_one_more_publish_with_the_final_values(
    noopSqlite: DbConnection, reactorThreads: object
) -> None:
    """Ten changes while a publish runs: two publishes in all, the second with value 10."""
    bulkModule = importlib.import_module("peek_plugin_noop._private.logic.NoopItemBulkIndex")
    NoopItemTuple = importlib.import_module(
        "peek_plugin_noop._private.storage.NoopItem"
    ).NoopItemTuple
    sessions = noopSqlite.ormSessionCreator
    with sessions() as session:
        item = NoopItemTuple(name="Counted", value=0)
        session.add(item)
        session.commit()
        key = str(item.id)
    platform = _Platform()
    index = bulkModule.NoopItemBulkIndex(platform, sessions)

    running = index.publish()
    for value in range(1, 11):
        with sessions() as session:
            session.get(NoopItemTuple, item.id).value = value
            session.commit()
        # The reactor has not run: the first publish is still running.
        assert index.publish() is running
    waitForDeferred(running)

    calls = platform.publisher.calls
    assert len(calls) == 2
    assert calls[-1][key] == {"name": "Counted", "value": 10}

    waitForDeferred(index.publish())
    assert len(calls) == 3, "an idle index publishes at once"
