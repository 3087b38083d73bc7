"""Entry hook of the noop plugin on the worker service (runs its Celery tasks)."""

import logging
from typing import Any

from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC
from peek_plugin_noop._private.storage.DeclarativeBase import loadStorageTuples
from peek_plugin_noop._private.tuples import loadPrivateTuples
from peek_plugin_noop.tuples import loadPublicTuples

logger = logging.getLogger(__name__)


class WorkerEntryHook(PluginWorkerEntryHookABC):
    """Runs the noop plugin on the worker service: ``load → start → stop → unload``.

    Whatever ``load`` and ``start`` create, ``stop`` and ``unload`` must release again.
    The tasks themselves run in the worker's Celery processes, which import the modules
    named by ``celeryAppIncludes``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Objects created by start() (handlers, controllers, observables); each has a
        #: ``shutdown()`` method, which stop() calls, newest first.
        self._loadedObjects: list[Any] = []

    @property
    def celeryAppIncludes(self) -> list[str]:
        """The modules defining this plugin's Celery tasks."""
        return ["peek_plugin_noop._private.worker.tasks.NoopItemTasks"]

    def load(self) -> None:
        """Prepare the plugin before the service starts it: register its tuples."""
        loadStorageTuples()
        loadPrivateTuples()
        loadPublicTuples()
        logger.info("Loaded")

    def start(self) -> None:
        """Start the plugin: create its handlers and add each to ``self._loadedObjects``."""
        logger.info("Started")

    def stop(self) -> None:
        """Shut down everything start() created, in reverse order of creation."""
        while self._loadedObjects:
            self._loadedObjects.pop().shutdown()
        logger.info("Stopped")

    def unload(self) -> None:
        """Release what load() acquired, before the platform unlinks the plugin."""
        logger.info("Unloaded")
