"""The agent calling an RPC of logic: each time logic links up, the agent asks it to add."""

import logging

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from peek_plugin_base.PeekVortexUtil import peekLogicName
from peek_plugin_noop._private.logic.agent_handlers.RpcForAgent import RpcForAgent
from peek_plugin_noop._private.WhenVortexOnline import WhenVortexOnline
from vortex.rpc.RPC import VortexTimeoutError

logger = logging.getLogger(__name__)

#: Calls made while logic is still starting its plugins go unanswered; retry this often.
ATTEMPTS = 6
#: Seconds between two attempts.
RETRY_SECONDS = 2.0


class AgentToLogicRpcCallExample:
    """Calls logic's ``noopAddOnLogic`` whenever the logic service comes online."""

    def __init__(self) -> None:
        self._whenOnline = WhenVortexOnline(peekLogicName, self.run, "noopAddOnLogic")

    def start(self) -> "AgentToLogicRpcCallExample":
        """Start waiting for logic; returns self."""
        self._whenOnline.start()
        return self

    def shutdown(self) -> None:
        """Stop, cancelling a call that is still waiting."""
        self._whenOnline.shutdown()

    def run(self) -> Deferred[None]:
        """Call logic (retrying while it starts) and log the sum."""
        return Deferred.fromCoroutine(self._callLogic(5, 7))

    async def _callLogic(self, a: int, b: int) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                # Runs on logic: the Deferred fires with logic's return value.
                total = await RpcForAgent.noopAddOnLogic(a, b)
            except VortexTimeoutError:
                if attempt == ATTEMPTS:
                    raise
                logger.info("noopAddOnLogic not answered yet (attempt %d); retrying", attempt)
                await deferLater(reactor, RETRY_SECONDS)
                continue
            logger.info("Logic's noopAddOnLogic(%s, %s) returned %s", a, b, total)
            return
