"""Field and office: keep every chunked index on disk and serve it at ``/bulk``.

``BulkSyncExtension`` opens ``<home>/bulk_chunks.sqlite`` before plugins load, mounts
``/bulk`` on each app site (behind the site's login guard) and then asks logic every
``bulkSync.pollSeconds`` which indexes changed (``bulkState``: one small call while nothing
changed). For a changed index it fetches only the chunks whose hash differs from its own
copy (``bulkChunks``, in batches), stores each batch as it arrives and records the index's
version once every chunk is stored; an interrupted fetch resumes where it stopped. Devices
are answered from the store alone, so a service restarted while logic is down serves what
it has.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from gzip import compress
from typing import Any, Protocol

from twisted.internet import threads
from twisted.internet.defer import CancelledError, Deferred, inlineCallbacks
from twisted.internet.task import LoopingCall

from peek_platform.bulk.chunks import ChunkFormatError, verifiedRowsBytes
from peek_platform.bulk.queue_db import IndexId
from peek_platform.bulk.resource import BULK_PATH, BulkResource
from peek_platform.bulk.rpc import bulkChunksRpc, bulkStateRpc
from peek_platform.bulk.store import ChunkStoreSqlite, StoredChunk
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.services import LOGIC
from peek_plugin_base.bulk.ChunkedIndex import NAME_PATTERN
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)

#: The store's file name in the service's home.
BULK_STORE_FILE_NAME = "bulk_chunks.sqlite"
MAX_MEGABYTES_KEY = "bulkSync.maxMegabytes"
POLL_SECONDS_KEY = "bulkSync.pollSeconds"
#: Chunks asked for in one ``bulkChunks`` call (logic also caps the bytes of an answer).
FETCH_BATCH = 64


class BulkSite(Protocol):
    """What the extension needs of an app site (``AppSiteExtension``): its root, to mount
    ``/bulk`` on, and its login state (None: no login required)."""

    @property
    def root(self) -> Any:
        """The site's ``WebSiteRoot`` once started, else None."""

    @property
    def auth(self) -> Any:
        """The site's ``SiteAuth``, or None when logins are off."""


class BulkSyncExtension(ServiceExtensionBase):
    """Keep logic's chunked indexes on disk and serve them to this service's devices."""

    def __init__(
        self, vortexFactory: Callable[[], VortexFactory], sites: Sequence[BulkSite]
    ) -> None:
        self._vortexFactory = vortexFactory
        self._sites = sites
        self._store: ChunkStoreSqlite | None = None
        self._hashes: dict[IndexId, dict[str, str]] = {}
        self._versions: dict[IndexId, str] = {}
        self._bodies: dict[IndexId, tuple[bytes, bytes]] = {}
        self._stateRpc = bulkStateRpc()
        self._chunksRpc = bulkChunksRpc()
        self._loop: LoopingCall | None = None
        self._syncing: Deferred[None] | None = None
        self._reactor: Any = None

    @property
    def store(self) -> ChunkStoreSqlite | None:
        """The open store (None before start and after stop)."""
        return self._store

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Open the store, mount ``/bulk`` on each site and start asking logic."""
        self._reactor = ctx.reactor
        maxBytes = int(float(ctx.config[MAX_MEGABYTES_KEY]) * 1024 * 1024)
        store = ChunkStoreSqlite(ctx.home / BULK_STORE_FILE_NAME, maxBytes)
        self._store = store
        for indexId, (version, hashes) in store.indexes().items():
            self._hashes[indexId] = hashes
            self._versions[indexId] = version
            self._rebuild(indexId)
        resource = BulkResource(self.hashesBody, self._readChunk, ctx.reactor)
        for site in self._sites:
            if site.root is not None:
                site.root.mount(BULK_PATH, resource, public=site.auth is None)
        logger.info(
            "bulk sync: %s, %d index(es), %d of %d bytes used",
            store.path,
            len(self._hashes),
            store.totalBytes,
            maxBytes,
        )
        self._loop = LoopingCall(self._tick)
        self._loop.clock = ctx.reactor
        self._loop.start(float(ctx.config[POLL_SECONDS_KEY]), now=True)

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None] | None:
        """Stop asking logic, then close the store (in a thread)."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        if self._syncing is not None:
            self._syncing.cancel()
        store, self._store = self._store, None
        if store is None:
            return None
        return threads.deferToThreadPool(ctx.reactor, ctx.reactor.getThreadPool(), store.close)

    # ---- serving ----------------------------------------------------------------------

    def hashesBody(self, indexId: IndexId) -> tuple[bytes, bytes] | None:
        """The ``/hashes`` body of an index (and its gzip form), None when unknown."""
        return self._bodies.get(indexId)

    def _readChunk(self, indexId: IndexId, bucket: str) -> StoredChunk | None:
        store = self._store
        return None if store is None else store.chunk(indexId, bucket)

    def _rebuild(self, indexId: IndexId) -> None:
        body = json.dumps(
            {"index": indexId[1], "plugin": indexId[0], "chunks": self._hashes[indexId]},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        self._bodies[indexId] = (body, compress(body, compresslevel=6))

    # ---- fetching from logic ----------------------------------------------------------

    def _tick(self) -> None:
        if self._syncing is not None or self._store is None:
            return
        factory = self._vortexFactory()
        if not factory.isVortexNameConnected(LOGIC.vortexName):
            return
        d = self.syncOnce(factory)
        self._syncing = d

        def done(result: object) -> None:
            self._syncing = None

        d.addErrback(self._syncFailed)
        d.addBoth(done)

    def _syncFailed(self, failure: Any) -> None:
        if not failure.check(CancelledError):
            logger.warning("bulk sync: fetching from logic failed: %s", failure.getErrorMessage())

    def _inThread(self, fn: Callable[..., Any], *args: Any) -> Deferred[Any]:
        return threads.deferToThreadPool(self._reactor, self._reactor.getThreadPool(), fn, *args)

    @inlineCallbacks
    def syncOnce(self, factory: VortexFactory) -> Any:
        """Ask logic what changed and fetch the changed chunks of every changed index."""
        known = {f"{p}/{i}": v for (p, i), v in self._versions.items() if v}
        answer = yield self._stateRpc.using(factory)(known)
        published = set()
        for key, state in answer.items():
            plugin, _, index = str(key).partition("/")
            if not (NAME_PATTERN.fullmatch(plugin) and NAME_PATTERN.fullmatch(index)):
                logger.warning("bulk sync: ignoring an index with a bad name: %r", key)
                continue
            published.add((plugin, index))
            if state is not None:
                yield self._syncIndex(factory, (plugin, index), state["version"], state["hashes"])
        for indexId in set(self._hashes) - published:
            yield self._inThread(self._removeIndex, indexId)
            self._hashes.pop(indexId, None)
            self._versions.pop(indexId, None)
            self._bodies.pop(indexId, None)
            logger.info("bulk sync: %s/%s is no longer published; removed", *indexId)

    def _removeIndex(self, indexId: IndexId) -> None:
        if self._store is not None:
            self._store.removeIndex(indexId)

    @inlineCallbacks
    def _syncIndex(
        self, factory: VortexFactory, indexId: IndexId, version: str, hashes: dict[str, str]
    ) -> Any:
        have = self._hashes.setdefault(indexId, {})
        if indexId not in self._bodies:
            self._rebuild(indexId)
        wanted = [b for b, h in hashes.items() if have.get(b) != h and NAME_PATTERN.fullmatch(b)]
        gone = [b for b in have if b not in hashes]
        complete = True
        fetched = 0
        while wanted:
            batch = wanted[:FETCH_BATCH]
            got = yield self._chunksRpc.using(factory)(indexId[0], indexId[1], batch)
            answered = {b: v for b, v in dict(got).items() if b in batch}
            if not answered:
                complete = False
                break
            stored = yield self._inThread(self._put, indexId, answered)
            have.update(stored)
            fetched += len(stored)
            if any(hashes.get(b) != h for b, h in stored.items()) or len(stored) < len(answered):
                complete = False
            self._rebuild(indexId)
            wanted = [b for b in wanted if b not in answered]
        if gone:
            yield self._inThread(self._remove, indexId, gone)
            for bucket in gone:
                have.pop(bucket, None)
            self._rebuild(indexId)
        if complete:
            yield self._inThread(self._setVersion, indexId, version)
            self._versions[indexId] = version
        logger.info(
            "bulk sync: %s/%s: fetched %d chunk(s), removed %d%s",
            *indexId,
            fetched,
            len(gone),
            "" if complete else " (incomplete; retrying)",
        )

    def _put(self, indexId: IndexId, answered: dict[str, list[str]]) -> dict[str, str]:
        """Check each chunk against its hash and store the good ones (in a thread)."""
        chunks: dict[str, tuple[str, bytes]] = {}
        for bucket, (digest, text) in answered.items():
            body = str(text).encode("utf-8")
            try:
                verifiedRowsBytes(body, str(digest))
            except ChunkFormatError as e:
                logger.error("bulk sync: chunk %s of %s/%s refused: %s", bucket, *indexId, e)
                continue
            chunks[bucket] = (str(digest), body)
        store = self._store
        return {} if store is None else store.put(indexId, chunks)

    def _remove(self, indexId: IndexId, buckets: list[str]) -> None:
        if self._store is not None:
            self._store.remove(indexId, buckets)

    def _setVersion(self, indexId: IndexId, version: str) -> None:
        if self._store is not None:
            self._store.setVersion(indexId, version)
