"""Publishing the noop items as a chunked index, the small example of bulk data sync.

Devices keep a copy of every item (``/bulk/peek_plugin_noop/items/...`` on the field and
office sites) and download only the chunks that changed. The noop table is tiny, so each
change simply queues every item again: the worker compiles only what differs, and a chunk
whose rows did not change keeps its hash, so no device downloads it again.
"""

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from peek_plugin_base.bulk.ChunkedIndex import ChunkedIndex, hashBucket
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple

logger = logging.getLogger(__name__)

#: The index: rows keyed by item id (as text), spread over 16 chunks.
NOOP_ITEMS_INDEX = ChunkedIndex("items", bucketForKey=hashBucket(16))


class NoopItemBulkIndex:
    """Queues the items' rows with the platform's publisher whenever they change.

    At most one publish runs at a time: changes made while one runs are covered by one more
    publish after it, so a burst of actions costs two publishes, not one per action.
    """

    def __init__(self, platform: Any, dbSessionCreator: Callable[[], Session]) -> None:
        self._publisher = platform.chunkedIndexPublisher(NOOP_ITEMS_INDEX)
        self._dbSessionCreator = dbSessionCreator
        #: Keys published by this run, so that removed items are deleted from the index.
        self._published: set[str] = set()
        #: The publish running now (None when idle), and whether another must follow it.
        self._running: Deferred[None] | None = None
        self._again = False

    def start(self) -> "NoopItemBulkIndex":
        """Publish the current items; returns self."""
        self.publish()
        return self

    def shutdown(self) -> None:
        """Nothing to release (queued rows stay queued in the database)."""

    def publish(self) -> Deferred[None]:
        """Queue every item's row (and a deletion for items gone since the last publish).

        Fires when the items as they are now have been queued (a failure is logged). Called
        while a publish runs, it only asks for one more publish after that one.
        """
        if self._running is not None:
            self._again = True
            return self._running
        d = deferToThread(self._rows)
        d.addCallback(self._queue)
        d.addErrback(lambda f: logger.warning("Publishing the items index failed: %s", f.value))
        d.addCallback(self._finished)
        self._running = d
        return d

    def publishFromThread(self) -> None:
        """``publish`` soon, called from a database thread (the admin editor's hooks)."""
        reactor.callFromThread(self.publish)  # type: ignore[attr-defined]

    def _finished(self, _: object) -> Deferred[None] | None:
        self._running = None
        if not self._again:
            return None
        self._again = False
        return self.publish()

    def _rows(self) -> dict[str, Any]:
        with self._dbSessionCreator() as session:
            items = session.query(NoopItemTuple.id, NoopItemTuple.name, NoopItemTuple.value)
            return {str(i): {"name": name, "value": value} for i, name, value in items}

    def _queue(self, rows: dict[str, Any]) -> Deferred[int]:
        changes: dict[str, Any] = {key: None for key in self._published - set(rows)}
        changes.update(rows)
        self._published = set(rows)
        return self._publisher.queueRows(changes)
