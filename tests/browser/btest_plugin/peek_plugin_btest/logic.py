"""Logic side: watches the ``greeting`` setting and logs each new value."""

import logging

from twisted.internet import reactor
from twisted.internet.task import LoopingCall

from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC

logger = logging.getLogger(__name__)


class LogicHook(PluginLogicEntryHookABC):
    """Logs what the plugin reads from its settings."""

    def load(self):
        """Nothing to prepare."""

    def start(self):
        """Start the settings watcher."""
        self._greeting = None
        self._watch = LoopingCall(self._readGreeting)
        self._watch.clock = reactor
        self._watch.start(0.2)

    def stop(self):
        """Stop the settings watcher."""
        self._watch.stop()

    def unload(self):
        """Nothing to release."""

    def _readGreeting(self):
        d = self.pluginSettings.get("greeting")
        d.addCallback(self._gotGreeting)
        return d

    def _gotGreeting(self, value):
        if value != self._greeting:
            self._greeting = value
            logger.info("BTEST setting greeting=%s", value)
