"""RPCs listening on logic (the manual's ``RpcForAgent``); the agent and field call them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from twisted.internet import task

from peek_plugin_base.PeekVortexUtil import peekAgentName, peekLogicName
from peek_plugin_msgtest._private.logic.LogicState import LogicState
from peek_plugin_msgtest._private.PluginNames import msgtestFilt
from peek_plugin_msgtest._private.tuples import MsgTestError, MsgTestValueTuple
from vortex.rpc.RPC import vortexRPC

logger = logging.getLogger(__name__)


class LogicRpc:
    """RPCs the agent calls; ``countCall`` accepts any service."""

    def __init__(self, state: LogicState, clock: Any) -> None:
        self._state = state
        self._clock = clock

    def makeHandlers(self) -> Iterator[Any]:
        """Start every RPC; each started RPC has ``shutdown()``."""
        yield self.addInts.start(funcSelf=self)
        yield self.echoTuple.start(funcSelf=self)
        yield self.fail.start(funcSelf=self)
        yield self.slow.start(funcSelf=self)
        yield self.countCall.start(funcSelf=self)

    @vortexRPC(peekLogicName, acceptOnlyFromVortex=peekAgentName, additionalFilt=msgtestFilt)
    def addInts(self, val1: int, kwval1: int = 9) -> int:
        """Add two ints (the manual's example)."""
        return val1 + kwval1

    @vortexRPC(peekLogicName, acceptOnlyFromVortex=peekAgentName, additionalFilt=msgtestFilt)
    def echoTuple(self, tup: MsgTestValueTuple) -> MsgTestValueTuple:
        """Return a changed copy of a registered tuple, stamped with logic's pid."""
        return MsgTestValueTuple(
            board=tup.board, value=tup.value + 1, text=tup.text.upper(), logicPid=os.getpid()
        )

    @vortexRPC(peekLogicName, acceptOnlyFromVortex=peekAgentName, additionalFilt=msgtestFilt)
    def fail(self, message: str) -> None:
        """Raise MsgTestError(message), for the caller to see its type and message."""
        raise MsgTestError(message)

    @vortexRPC(
        peekLogicName,
        timeoutSeconds=1.0,
        acceptOnlyFromVortex=peekAgentName,
        additionalFilt=msgtestFilt,
    )
    def slow(self, seconds: float) -> Any:
        """Answer after ``seconds``, longer than this RPC's 1 s timeout."""
        return task.deferLater(self._clock, seconds, lambda: "answered late")

    @vortexRPC(peekLogicName, additionalFilt=msgtestFilt)
    def countCall(self, tag: str) -> int:
        """Record that a call arrived (any caller); return how many have arrived."""
        self._state.countedCalls.append(tag)
        logger.info("MSGTEST countCall %r arrived", tag)
        return len(self._state.countedCalls)


#: The logic RPCs that other services' test code may call, by name.
LOGIC_RPCS = {
    name: getattr(LogicRpc, name) for name in ("addInts", "echoTuple", "fail", "slow", "countCall")
}
