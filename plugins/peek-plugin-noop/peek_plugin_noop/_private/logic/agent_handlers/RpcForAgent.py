"""RPCs on the logic service for the agent: the agent calls them, logic runs them.

A ``@vortexRPC`` function is called like a normal one from any service and returns a
Deferred of the result; its name on the wire is this module's path plus the qualified
name, so the agent imports it from here.
"""

import logging
from collections.abc import Iterator
from typing import Any

from peek_plugin_base.PeekVortexUtil import peekAgentName, peekLogicName
from peek_plugin_noop._private.PluginNames import noopFilt
from vortex.rpc.RPC import vortexRPC

logger = logging.getLogger(__name__)


class RpcForAgent:
    """The logic side of the noop RPCs the agent calls."""

    def makeHandlers(self) -> Iterator[Any]:
        """Start listening for every RPC; ``start()`` returns the RPC (it has ``shutdown()``)."""
        yield self.noopAddOnLogic.start(funcSelf=self)
        logger.debug("RPCs for the agent started")

    # Listens on logic, and refuses callers other than the agent service.
    # timeoutSeconds: how long a caller waits for the answer.
    @vortexRPC(
        peekLogicName,
        acceptOnlyFromVortex=peekAgentName,
        additionalFilt=noopFilt,
        timeoutSeconds=10,
    )
    def noopAddOnLogic(self, a: int, b: int) -> int:
        """Add two numbers: the simplest RPC there is."""
        logger.info("The agent asked for noopAddOnLogic(%s, %s)", a, b)
        return a + b
