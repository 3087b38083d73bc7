"""RPCs on the agent service for logic: logic calls them, the agent runs them."""

import logging
from collections.abc import Iterator
from typing import Any

from peek_plugin_base.PeekVortexUtil import peekAgentName, peekLogicName
from peek_plugin_noop._private.PluginNames import noopFilt
from vortex.rpc.RPC import vortexRPC

logger = logging.getLogger(__name__)


class RpcForLogic:
    """The agent side of the noop RPCs logic calls."""

    def makeHandlers(self) -> Iterator[Any]:
        """Start listening for every RPC; ``start()`` returns the RPC (it has ``shutdown()``)."""
        yield self.noopEchoOnAgent.start(funcSelf=self)
        logger.debug("RPCs for logic started")

    # Listens on the agent and takes calls from the logic service only.
    @vortexRPC(peekAgentName, acceptOnlyFromVortex=peekLogicName, additionalFilt=noopFilt)
    def noopEchoOnAgent(self, value: str) -> str:
        """Return ``value``: an agent would reach its external system here."""
        logger.info("Logic asked for noopEchoOnAgent(%r)", value)
        return value
