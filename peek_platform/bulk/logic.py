"""Logic's side of bulk data sync: plugins' publishers, compile tasks and the hashes.

``BulkIndexExtension`` runs after storage and Celery. Plugins queue changed rows through
``publisher(pluginName, index)``; each queueing stores the rows in ``bulk_queue`` and asks
for a compile of that index. At most one compile task per index is in flight: changes
queued meanwhile only mark the index to compile again when it ends, so any number of
changes between two compiles cost one compile. After each task the index's hashes are read
back from the database (so a lost or duplicated result cannot leave them stale) and, when
they changed, its version moves on; field and office ask for versions with ``bulkState``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from twisted.internet.defer import Deferred, DeferredLock, inlineCallbacks
from twisted.internet.interfaces import IDelayedCall

from peek_platform.bulk.queue_db import (
    IndexId,
    pendingIndexes,
    queueRows,
    readAllHashes,
    readChunks,
)
from peek_platform.bulk.rpc import CHUNKS_PER_CALL_BYTES, bulkChunksRpc, bulkStateRpc, indexKey
from peek_platform.bulk.tasks import compileChunkedIndex
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.storage.extension import StorageServiceExtension
from peek_plugin_base.bulk.ChunkedIndex import (
    ChunkedIndex,
    ChunkedIndexPublisherABC,
    checkChunkedIndexName,
)
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)

#: Seconds before a failed compile (no worker, a task error) is asked for again.
RETRY_SECONDS = 5.0

#: Submits a Celery task: ``submit(task, *args) -> Deferred`` of its result.
Submit = Callable[..., Deferred[Any]]


class LogicChunkedIndexPublisher(ChunkedIndexPublisherABC):
    """One plugin's publisher of one index (``platform.chunkedIndexPublisher``)."""

    def __init__(self, bulk: BulkIndexExtension, pluginName: str, index: ChunkedIndex) -> None:
        self._bulk = bulk
        self._pluginName = pluginName
        self._index = index

    @property
    def index(self) -> ChunkedIndex:
        """The index this publisher publishes."""
        return self._index

    def queueRows(self, rows: Mapping[str, Any]) -> Deferred[int]:
        """Queue the new value of each row (None deletes it); fires once they are stored."""
        return self._bulk.queue(self._pluginName, self._index, dict(rows))

    def chunkHashes(self) -> dict[str, str]:
        """The current hash of every compiled chunk, by bucket."""
        return self._bulk.hashes(self._pluginName, self._index.name)


class BulkIndexExtension(ServiceExtensionBase):
    """Queue, compile and publish the plugins' chunked indexes on logic."""

    def __init__(
        self,
        storage: StorageServiceExtension,
        submit: Callable[[], Submit | None],
        vortexFactory: Callable[[], VortexFactory],
    ) -> None:
        self._storage = storage
        self._submit = submit
        self._vortexFactory = vortexFactory
        self._epoch = secrets.token_hex(4)
        self._hashes: dict[IndexId, dict[str, str]] = {}
        self._versions: dict[IndexId, int] = {}
        self._compiling: set[IndexId] = set()
        self._again: set[IndexId] = set()
        self._retries: dict[IndexId, IDelayedCall] = {}
        self._reloadLock = DeferredLock()
        self._rpcs: list[Any] = []
        self._reactor: Any = None
        self._running = False

    # ---- lifecycle --------------------------------------------------------------------

    @inlineCallbacks
    def startBeforePlugins(self, ctx: ServiceContext) -> Any:
        """Read the compiled hashes, answer field and office, compile what was left queued."""
        self._reactor = ctx.reactor
        engine = self._storage.platformDb.dbEngine

        def read() -> tuple[dict[IndexId, dict[str, str]], set[IndexId]]:
            with engine.connect() as conn:
                return readAllHashes(conn), pendingIndexes(conn)

        hashes, pending = yield self._storage.inThread(read)
        self._hashes = hashes
        self._versions = {indexId: 1 for indexId in hashes}
        factory = self._vortexFactory()
        self._rpcs = [
            bulkStateRpc().start(funcSelf=self.state, vortexFactory=factory),
            bulkChunksRpc().start(funcSelf=self.chunks, vortexFactory=factory),
        ]
        self._running = True
        for indexId in sorted(pending):
            self._compile(indexId)
        logger.info(
            "bulk sync: %d chunked index(es), %d with queued rows", len(hashes), len(pending)
        )

    def stopAfterPlugins(self, ctx: ServiceContext) -> None:
        """Stop answering and retrying (queued rows stay queued for the next start)."""
        self._running = False
        for rpc in self._rpcs:
            rpc.shutdown()
        self._rpcs = []
        for call in self._retries.values():
            if call.active():
                call.cancel()
        self._retries.clear()

    # ---- plugins' side ----------------------------------------------------------------

    def publisher(self, pluginName: str, index: ChunkedIndex) -> LogicChunkedIndexPublisher:
        """The publisher of ``index`` for plugin ``pluginName``."""
        return LogicChunkedIndexPublisher(self, pluginName, index)

    def queue(self, pluginName: str, index: ChunkedIndex, rows: dict[str, Any]) -> Deferred[int]:
        """Store ``rows`` in the queue (in a thread), then compile the index."""
        indexId = (pluginName, index.name)
        engine = self._storage.platformDb.dbEngine

        def store() -> int:
            items = [
                (key, index.bucketOf(key), None if value is None else orjson.dumps(value).decode())
                for key, value in rows.items()
            ]
            with engine.begin() as conn:
                return queueRows(conn, pluginName, index.name, items)

        def queued(count: int) -> int:
            self._compile(indexId)
            return count

        return self._storage.inThread(store).addCallback(queued)

    def hashes(self, pluginName: str, indexName: str) -> dict[str, str]:
        """The compiled hashes of one index (empty when it has none)."""
        return dict(self._hashes.get((pluginName, indexName), {}))

    # ---- compiling --------------------------------------------------------------------

    def _compile(self, indexId: IndexId) -> None:
        """Submit a compile of ``indexId`` unless one is in flight (then it runs again)."""
        if not self._running:
            return
        if indexId in self._compiling:
            self._again.add(indexId)
            return
        retry = self._retries.pop(indexId, None)
        if retry is not None and retry.active():
            retry.cancel()
        submit = self._submit()
        if submit is None:
            self._retryLater(indexId, "Celery is not running")
            return
        self._compiling.add(indexId)
        d = submit(compileChunkedIndex, *indexId)
        d.addCallbacks(
            self._compiled, self._failed, callbackArgs=(indexId,), errbackArgs=(indexId,)
        )

    def _compiled(self, result: dict[str, Any], indexId: IndexId) -> Deferred[None]:
        logger.info("bulk sync: compiled %s: %s rows", indexKey(*indexId), result.get("rows"))

        def done(_: object) -> None:
            self._compiling.discard(indexId)
            if int(result.get("remaining", 0)) > 0 or indexId in self._again:
                self._again.discard(indexId)
                self._compile(indexId)

        return self._reload(indexId).addBoth(done)

    def _failed(self, failure: Any, indexId: IndexId) -> None:
        self._compiling.discard(indexId)
        self._again.discard(indexId)
        self._retryLater(indexId, failure.getErrorMessage())

    def _retryLater(self, indexId: IndexId, reason: str) -> None:
        if not self._running or indexId in self._retries:
            return
        logger.warning(
            "bulk sync: compiling %s failed (%s); trying again in %.0f s",
            indexKey(*indexId),
            reason,
            RETRY_SECONDS,
        )

        def retry() -> None:
            self._retries.pop(indexId, None)
            self._compile(indexId)

        self._retries[indexId] = self._reactor.callLater(RETRY_SECONDS, retry)

    def _reload(self, indexId: IndexId) -> Deferred[None]:
        """Read the index's hashes back from the database; a change moves its version on."""
        engine = self._storage.platformDb.dbEngine

        def read() -> dict[str, str]:
            with engine.connect() as conn:
                return readAllHashes(conn).get(indexId, {})

        def apply(hashes: dict[str, str]) -> None:
            if hashes != self._hashes.get(indexId, {}):
                self._hashes[indexId] = hashes
                self._versions[indexId] = self._versions.get(indexId, 0) + 1

        def locked() -> Deferred[None]:
            return self._storage.inThread(read).addCallback(apply)

        return self._reloadLock.run(locked).addErrback(
            lambda f: logger.error("bulk sync: reading %s failed: %s", indexKey(*indexId), f.value)
        )

    # ---- field's and office's calls ---------------------------------------------------

    def version(self, indexId: IndexId) -> str:
        """The published version of ``indexId`` (changes whenever its hashes change)."""
        return f"{self._epoch}:{self._versions.get(indexId, 0)}"

    def state(self, known: dict[str, str]) -> dict[str, Any]:
        """``bulkState``: every index, ``None`` when ``known`` has its current version."""
        answer: dict[str, Any] = {}
        for indexId, hashes in self._hashes.items():
            key, version = indexKey(*indexId), self.version(indexId)
            answer[key] = (
                None if known.get(key) == version else {"version": version, "hashes": hashes}
            )
        return answer

    def chunks(self, pluginName: str, indexName: str, buckets: list[str]) -> dict[str, list[str]]:
        """``bulkChunks`` (in a thread): hash and body of each existing chunk asked for, up
        to ``CHUNKS_PER_CALL_BYTES`` of bodies (the caller asks again for the rest)."""
        checkChunkedIndexName("index", indexName)
        with self._storage.platformDb.dbEngine.connect() as conn:
            found = readChunks(conn, pluginName, indexName, buckets)
        answer: dict[str, list[str]] = {}
        size = 0
        for bucket in buckets:
            if bucket not in found:
                continue
            digest, body = found[bucket]
            if answer and size + len(body) > CHUNKS_PER_CALL_BYTES:
                break
            answer[bucket] = [digest, body.decode("utf-8")]
            size += len(body)
        return answer
