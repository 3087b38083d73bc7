"""Entry hook of the messaging test plugin on the agent."""

from __future__ import annotations

import logging
from typing import Any

from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_msgtest._private.agent.AgentRpc import AgentRpc
from peek_plugin_msgtest._private.PluginNames import STARTED_LOG
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)


class AgentEntryHook(PluginAgentEntryHookABC):
    """Starts the agent's RPCs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loadedObjects: list[Any] = []

    def load(self) -> None:
        """Nothing to prepare."""

    def start(self) -> None:
        """Start the RPCs logic calls."""
        clock = VortexFactory.default().reactor
        self._loadedObjects.extend(AgentRpc(clock).makeHandlers())
        logger.info("%s agent", STARTED_LOG)

    def stop(self) -> None:
        """Shut down the RPCs, newest first."""
        while self._loadedObjects:
            self._loadedObjects.pop().shutdown()

    def unload(self) -> None:
        """Nothing to release."""
