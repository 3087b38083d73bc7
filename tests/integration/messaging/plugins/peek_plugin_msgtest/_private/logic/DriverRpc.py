"""RPCs on logic that only the test driver may call: reach the agent, read counters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from twisted.internet import defer

from peek_plugin_base.PeekVortexUtil import peekLogicName
from peek_plugin_msgtest._private.agent.AgentRpc import AgentRpc
from peek_plugin_msgtest._private.logic.LogicHandlers import LogicHandlers, boardSelector
from peek_plugin_msgtest._private.logic.LogicState import LogicState
from peek_plugin_msgtest._private.outcome import outcomeOf
from peek_plugin_msgtest._private.PluginNames import msgtestDriverName, msgtestFilt
from vortex.rpc.RPC import vortexRPC

#: The agent RPCs ``callAgent`` may call, by name.
AGENT_RPCS = {
    "subInts": AgentRpc.subInts,
    "echoTuple": AgentRpc.echoTuple,
    "fail": AgentRpc.fail,
    "slow": AgentRpc.slow,
    "callLogic": AgentRpc.callLogic,
}


class DriverRpc:
    """What the test driver (linked to logic as ``msgtest-driver``) asks logic to do."""

    def __init__(self, state: LogicState, handlers: LogicHandlers) -> None:
        self._state = state
        self._handlers = handlers

    def makeHandlers(self) -> Iterator[Any]:
        """Start every RPC; each started RPC has ``shutdown()``."""
        yield self.callAgent.start(funcSelf=self)
        yield self.counters.start(funcSelf=self)

    @vortexRPC(
        peekLogicName,
        timeoutSeconds=15.0,
        acceptOnlyFromVortex=msgtestDriverName,
        additionalFilt=msgtestFilt,
    )
    def callAgent(self, rpcName: str, args: list, kwargs: dict) -> defer.Deferred:
        """Call the agent RPC ``rpcName`` from logic; the outcome as a tuple."""
        return outcomeOf(AGENT_RPCS[rpcName], *args, **kwargs)

    @vortexRPC(peekLogicName, acceptOnlyFromVortex=msgtestDriverName, additionalFilt=msgtestFilt)
    def counters(self, board: str) -> dict:
        """Logic's view: subscriptions to the board's selector, countCall tags, its pid."""
        return {
            "subscriptions": self._handlers.observable.subscriberCount(boardSelector(board)),
            "countedCalls": list(self._state.countedCalls),
            "logicPid": os.getpid(),
        }
