"""Entry hook of the noop plugin on the field service (the field app on devices)."""

import logging
from typing import Any

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_noop._private.device import DEVICE_APP_DIR
from peek_plugin_noop._private.device.DeviceTupleDataObservableProxy import (
    makeDeviceTupleDataObservableProxy,
)
from peek_plugin_noop._private.device.DeviceTupleProcessorActionProxy import (
    makeTupleActionProcessorProxy,
)
from peek_plugin_noop._private.storage.DeclarativeBase import loadStorageTuples
from peek_plugin_noop._private.tuples import loadPrivateTuples
from peek_plugin_noop.tuples import loadPublicTuples

logger = logging.getLogger(__name__)


class FieldEntryHook(PluginFieldEntryHookABC):
    """Runs the noop plugin on the field service: ``load → start → stop → unload``.

    Whatever ``load`` and ``start`` create, ``stop`` and ``unload`` must release again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Objects created by start() (handlers, controllers, observables); each has a
        #: ``shutdown()`` method, which stop() calls, newest first.
        self._loadedObjects: list[Any] = []

    def load(self) -> None:
        """Prepare the plugin: register its tuples and serve its pages at /peek_plugin_noop/."""
        loadStorageTuples()
        loadPrivateTuples()
        loadPublicTuples()
        # The platform stops serving it when the plugin unloads.
        self.platform.addFieldStaticResourceDir(str(DEVICE_APP_DIR))
        logger.info("Loaded")

    def start(self) -> None:
        """Start the plugin: create its handlers and add each to ``self._loadedObjects``."""
        # Devices observe the noop data and push noop actions here; both go on to logic.
        self._loadedObjects.append(makeDeviceTupleDataObservableProxy())
        self._loadedObjects.append(makeTupleActionProcessorProxy())
        logger.info("Started")

    def stop(self) -> None:
        """Shut down everything start() created, in reverse order of creation."""
        while self._loadedObjects:
            self._loadedObjects.pop().shutdown()
        logger.info("Stopped")

    def unload(self) -> None:
        """Release what load() acquired, before the platform unlinks the plugin."""
        logger.info("Unloaded")
