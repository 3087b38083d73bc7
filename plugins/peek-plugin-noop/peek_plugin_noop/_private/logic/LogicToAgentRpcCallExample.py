"""Logic calling an RPC of the agent: each time the agent links up, logic greets it."""

import logging

from twisted.internet.defer import Deferred

from peek_plugin_base.PeekVortexUtil import peekAgentName
from peek_plugin_noop._private.agent.RpcForLogic import RpcForLogic
from peek_plugin_noop._private.WhenVortexOnline import WhenVortexOnline

logger = logging.getLogger(__name__)


class LogicToAgentRpcCallExample:
    """Calls the agent's ``noopEchoOnAgent`` whenever the agent service comes online."""

    def __init__(self, greeting: str) -> None:
        self._greeting = greeting
        self._whenOnline = WhenVortexOnline(peekAgentName, self.run, "noopEchoOnAgent")

    def start(self) -> "LogicToAgentRpcCallExample":
        """Start waiting for the agent; returns self."""
        self._whenOnline.start()
        return self

    def shutdown(self) -> None:
        """Stop, cancelling a call still waiting for its answer."""
        self._whenOnline.shutdown()

    def run(self) -> Deferred[None]:
        """Call the agent and log its answer."""
        # RpcForLogic.noopEchoOnAgent runs on the agent: calling it sends the arguments
        # there and returns a Deferred of the agent's return value.
        d = RpcForLogic.noopEchoOnAgent(f"{self._greeting} from logic")
        d.addCallback(lambda answer: logger.info("The agent's noopEchoOnAgent said %r", answer))
        return d
