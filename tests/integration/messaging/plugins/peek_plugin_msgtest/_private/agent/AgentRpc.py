"""RPCs listening on the agent (the manual's ``RpcForServer``); logic calls them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from twisted.internet import defer, task

from peek_plugin_base.PeekVortexUtil import peekAgentName, peekLogicName
from peek_plugin_msgtest._private.logic.LogicRpc import LOGIC_RPCS
from peek_plugin_msgtest._private.outcome import outcomeOf
from peek_plugin_msgtest._private.PluginNames import msgtestFilt
from peek_plugin_msgtest._private.tuples import MsgTestError, MsgTestValueTuple
from vortex.rpc.RPC import vortexRPC


class AgentRpc:
    """RPCs logic calls, including ``callLogic`` which makes the agent call logic back."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock

    def makeHandlers(self) -> Iterator[Any]:
        """Start every RPC; each started RPC has ``shutdown()``."""
        yield self.subInts.start(funcSelf=self)
        yield self.echoTuple.start(funcSelf=self)
        yield self.fail.start(funcSelf=self)
        yield self.slow.start(funcSelf=self)
        yield self.callLogic.start(funcSelf=self)

    @vortexRPC(peekAgentName, acceptOnlyFromVortex=peekLogicName, additionalFilt=msgtestFilt)
    def subInts(self, val1: int, kwval1: int = 9) -> int:
        """Subtract (the manual's example)."""
        return val1 - kwval1

    @vortexRPC(peekAgentName, acceptOnlyFromVortex=peekLogicName, additionalFilt=msgtestFilt)
    def echoTuple(self, tup: MsgTestValueTuple) -> MsgTestValueTuple:
        """Return a changed copy of a registered tuple (text reversed, value doubled)."""
        return MsgTestValueTuple(board=tup.board, value=tup.value * 2, text=tup.text[::-1])

    @vortexRPC(peekAgentName, acceptOnlyFromVortex=peekLogicName, additionalFilt=msgtestFilt)
    def fail(self, message: str) -> None:
        """Raise MsgTestError(message) in the agent process."""
        raise MsgTestError(f"{message} (agent pid {os.getpid()})")

    @vortexRPC(
        peekAgentName,
        timeoutSeconds=1.0,
        acceptOnlyFromVortex=peekLogicName,
        additionalFilt=msgtestFilt,
    )
    def slow(self, seconds: float) -> defer.Deferred:
        """Answer after ``seconds``, longer than this RPC's 1 s timeout."""
        return task.deferLater(self._clock, seconds, lambda: "answered late")

    @vortexRPC(
        peekAgentName,
        timeoutSeconds=10.0,
        acceptOnlyFromVortex=peekLogicName,
        additionalFilt=msgtestFilt,
    )
    def callLogic(self, rpcName: str, args: list, kwargs: dict) -> defer.Deferred:
        """Call the logic RPC ``rpcName`` from the agent; the outcome as a tuple."""
        return outcomeOf(LOGIC_RPCS[rpcName], *args, **kwargs)
