"""Entry hook of the messaging test plugin on logic."""

from __future__ import annotations

import logging
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred

from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_msgtest._private.logic.DriverRpc import DriverRpc
from peek_plugin_msgtest._private.logic.LogicHandlers import LogicHandlers
from peek_plugin_msgtest._private.logic.LogicRpc import LogicRpc
from peek_plugin_msgtest._private.logic.LogicState import LogicState
from peek_plugin_msgtest._private.PluginNames import START_DELAY_SECONDS, STARTED_LOG
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)


class LogicEntryHook(PluginLogicEntryHookABC):
    """Starts the observable, the action processor and the RPCs on logic."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loadedObjects: list[Any] = []

    def load(self) -> None:
        """Nothing to prepare."""

    def start(self) -> Deferred:
        """Prepare for START_DELAY_SECONDS (as if loading state), then start the handlers."""
        clock = VortexFactory.default().reactor
        return task.deferLater(clock, START_DELAY_SECONDS, self._startHandlers, clock)

    def _startHandlers(self, clock: Any) -> None:
        """Create the observable and processor, and start the RPCs."""
        state = LogicState()
        handlers = LogicHandlers(state)
        self._loadedObjects.append(handlers)
        self._loadedObjects.extend(LogicRpc(state, clock).makeHandlers())
        self._loadedObjects.extend(DriverRpc(state, handlers).makeHandlers())
        logger.info("%s logic", STARTED_LOG)

    def stop(self) -> None:
        """Shut down everything start() created, newest first."""
        while self._loadedObjects:
            self._loadedObjects.pop().shutdown()

    def unload(self) -> None:
        """Nothing to release."""
