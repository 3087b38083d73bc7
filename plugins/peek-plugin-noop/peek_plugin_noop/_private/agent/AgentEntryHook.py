"""Entry hook of the noop plugin on the agent service (links to external systems)."""

import logging
from typing import Any

from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_noop._private.agent.AgentToLogicRpcCallExample import (
    AgentToLogicRpcCallExample,
)
from peek_plugin_noop._private.agent.RpcForLogic import RpcForLogic
from peek_plugin_noop._private.storage.DeclarativeBase import loadStorageTuples
from peek_plugin_noop._private.tuples import loadPrivateTuples
from peek_plugin_noop.tuples import loadPublicTuples

logger = logging.getLogger(__name__)


class AgentEntryHook(PluginAgentEntryHookABC):
    """Runs the noop plugin on the agent service: ``load → start → stop → unload``.

    Whatever ``load`` and ``start`` create, ``stop`` and ``unload`` must release again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Objects created by start() (handlers, controllers, observables); each has a
        #: ``shutdown()`` method, which stop() calls, newest first.
        self._loadedObjects: list[Any] = []

    def load(self) -> None:
        """Prepare the plugin before the service starts it: register its tuples."""
        loadStorageTuples()
        loadPrivateTuples()
        loadPublicTuples()
        logger.info("Loaded")

    def start(self) -> None:
        """Start the plugin: create its handlers and add each to ``self._loadedObjects``."""
        # The RPCs logic calls on the agent.
        self._loadedObjects.extend(RpcForLogic().makeHandlers())
        # Call logic's RPC each time logic comes online.
        self._loadedObjects.append(AgentToLogicRpcCallExample().start())
        logger.info("Started")

    def stop(self) -> None:
        """Shut down everything start() created, in reverse order of creation."""
        while self._loadedObjects:
            self._loadedObjects.pop().shutdown()
        logger.info("Stopped")

    def unload(self) -> None:
        """Release what load() acquired, before the platform unlinks the plugin."""
        logger.info("Unloaded")
