"""Logic side: the counter observable and action processor, and the settings watcher."""

import logging

from twisted.internet import reactor
from twisted.internet.task import LoopingCall

from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_btest.tuples import COUNTER_TUPLE, FILT, PLUGIN_NAME, CounterTuple
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler, TuplesProviderABC
from vortex.Payload import Payload
from vortex.TupleAction import TupleGenericAction
from vortex.TupleSelector import TupleSelector

logger = logging.getLogger(__name__)


class LogicHook(PluginLogicEntryHookABC, TuplesProviderABC, TupleActionProcessorDelegateABC):
    """Serves the counter and logs what the plugin reads from its settings."""

    def load(self):
        """Nothing to prepare."""

    def start(self):
        """Start the observable, the action processor and the settings watcher."""
        self._counter = 0
        self._greeting = None
        self._observable = TupleDataObservableHandler(PLUGIN_NAME, FILT)
        self._observable.addTupleProvider(COUNTER_TUPLE, self)
        self._processor = TupleActionProcessor(PLUGIN_NAME, FILT)
        self._processor.setDelegate(TupleGenericAction, self)
        self._watch = LoopingCall(self._readGreeting)
        self._watch.clock = reactor
        self._watch.start(0.2)

    def stop(self):
        """Stop everything start() made."""
        self._watch.stop()
        self._processor.shutdown()
        self._observable.shutdown()

    def unload(self):
        """Nothing to release."""

    def makeVortexMsg(self, filt, tupleSelector):
        """The counter now."""
        return Payload(filt=filt, tuples=[CounterTuple(value=self._counter)]).toVortexMsg()

    def processTupleAction(self, tupleAction):
        """``increment``: add one, tell every observer, answer with the new value."""
        self._counter += 1
        logger.info("BTEST counter=%d action=%s", self._counter, tupleAction.uuid)
        self._observable.notifyOfTupleUpdate(TupleSelector(COUNTER_TUPLE, {}))
        return [CounterTuple(value=self._counter)]

    def _readGreeting(self):
        d = self.pluginSettings.get("greeting")
        d.addCallback(self._gotGreeting)
        return d

    def _gotGreeting(self, value):
        if value != self._greeting:
            self._greeting = value
            logger.info("BTEST setting greeting=%s", value)
