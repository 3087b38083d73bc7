"""Field and office: keep the observable proxies' caches on disk (``tuple_cache.sqlite``).

The store is opened before plugins load and set as ``factory.tupleStore``, so every
``TupleDataObservableProxyHandler`` a plugin creates uses it; it is closed (queued writes
written) after the plugins stop. ``tupleCache.maxMegabytes`` bounds it; 0 turns it off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from vortex.storage.tuple_store_sqlite import TupleStoreSqlite
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)

#: The store's file name in the service's home.
TUPLE_CACHE_FILE_NAME = "tuple_cache.sqlite"
MAX_MEGABYTES_KEY = "tupleCache.maxMegabytes"


class TupleCacheExtension(ServiceExtensionBase):
    """Open the disk tuple cache for this process's observable proxies."""

    def __init__(self, vortexFactory: Callable[[], VortexFactory]) -> None:
        self._vortexFactory = vortexFactory
        self._store: TupleStoreSqlite | None = None

    @property
    def store(self) -> TupleStoreSqlite | None:
        """The open store, or None when turned off or not started."""
        return self._store

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Open ``<home>/tuple_cache.sqlite`` and hand it to the vortex factory."""
        maxBytes = int(ctx.config[MAX_MEGABYTES_KEY] * 1024 * 1024)
        if maxBytes <= 0:
            logger.info("tuple cache: off (%s is 0)", MAX_MEGABYTES_KEY)
            return
        store = TupleStoreSqlite(ctx.home / TUPLE_CACHE_FILE_NAME, maxBytes)
        self._store = store
        self._vortexFactory().tupleStore = store
        logger.info("tuple cache: %s, %d of %d bytes used", store.path, store.totalBytes, maxBytes)

    def stopAfterPlugins(self, ctx: ServiceContext) -> None:
        """Write what is queued and close the file."""
        store, self._store = self._store, None
        if store is not None:
            self._vortexFactory().tupleStore = None
            store.close()
