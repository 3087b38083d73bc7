"""Entry hook of the noop plugin on the office service (the office app in browsers)."""

import logging
from typing import Any

from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC

logger = logging.getLogger(__name__)


class OfficeEntryHook(PluginOfficeEntryHookABC):
    """Runs the noop plugin on the office service: ``load → start → stop → unload``.

    Whatever ``load`` and ``start`` create, ``stop`` and ``unload`` must release again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Objects created by start() (handlers, controllers, observables); each has a
        #: ``shutdown()`` method, which stop() calls, newest first.
        self._loadedObjects: list[Any] = []

    def load(self) -> None:
        """Prepare the plugin before the service starts it."""
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
