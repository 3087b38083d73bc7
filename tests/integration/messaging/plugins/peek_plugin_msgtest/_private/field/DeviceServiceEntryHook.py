"""Entry hooks of the messaging test plugin on field and office (the device services).

Both proxy logic's observable and action processor to their devices, and run a local
processor whose action makes the service itself call a logic RPC.
"""

from __future__ import annotations

import logging
from typing import Any

from twisted.internet import defer, task

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC
from peek_plugin_base.PeekVortexUtil import peekLogicName
from peek_plugin_msgtest._private.logic.LogicRpc import LOGIC_RPCS
from peek_plugin_msgtest._private.outcome import outcomeOf
from peek_plugin_msgtest._private.PluginNames import (
    START_DELAY_SECONDS,
    STARTED_LOG,
    msgtestActionProcessorName,
    msgtestFilt,
    msgtestLocalActionProcessorName,
    msgtestObservableName,
)
from peek_plugin_msgtest._private.tuples import MsgTestCallLogicAction
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleActionProcessorProxy import TupleActionProcessorProxy
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)


class CallLogicDelegate(TupleActionProcessorDelegateABC):
    """Calls the logic RPC an action names, from this service; answers with the outcome."""

    def processTupleAction(self, tupleAction: MsgTestCallLogicAction) -> defer.Deferred:
        """The outcome tuple of calling ``LOGIC_RPCS[rpcName](*args, **kwargs)``."""
        call = LOGIC_RPCS[tupleAction.rpcName]
        d = outcomeOf(call, *tupleAction.args, **tupleAction.kwargs)
        return d.addCallback(lambda outcome: [outcome])


class _DeviceServiceHook:
    """Lifecycle shared by the field and office hooks."""

    serviceKey = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loadedObjects: list[Any] = []

    def load(self) -> None:
        """Nothing to prepare."""

    def start(self) -> defer.Deferred:
        """Prepare for START_DELAY_SECONDS (as if loading state), then start the handlers."""
        clock = VortexFactory.default().reactor
        return task.deferLater(clock, START_DELAY_SECONDS, self._startHandlers)

    def _startHandlers(self) -> None:
        """Create the proxies and the local processor."""
        self._loadedObjects.append(
            TupleDataObservableProxyHandler(
                msgtestObservableName, peekLogicName, additionalFilt=msgtestFilt
            )
        )
        self._loadedObjects.append(
            TupleActionProcessorProxy(
                msgtestActionProcessorName, peekLogicName, additionalFilt=msgtestFilt
            )
        )
        self._loadedObjects.append(
            TupleActionProcessor(
                msgtestLocalActionProcessorName,
                additionalFilt=msgtestFilt,
                defaultDelegate=CallLogicDelegate(),
            )
        )
        logger.info("%s %s", STARTED_LOG, self.serviceKey)

    def stop(self) -> None:
        """Shut down everything start() created, newest first."""
        while self._loadedObjects:
            self._loadedObjects.pop().shutdown()

    def unload(self) -> None:
        """Nothing to release."""


class FieldEntryHook(_DeviceServiceHook, PluginFieldEntryHookABC):
    """The plugin on the field service."""

    serviceKey = "field"


class OfficeEntryHook(_DeviceServiceHook, PluginOfficeEntryHookABC):
    """The plugin on the office service."""

    serviceKey = "office"
