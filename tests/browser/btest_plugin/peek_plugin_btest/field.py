"""Field side: proxies the counter to logic and serves the field page."""

import os

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_btest.tuples import FILT, PLUGIN_NAME
from vortex.handler.TupleActionProcessorProxy import TupleActionProcessorProxy
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler

LOGIC_VORTEX = "peek-logic-service"


class FieldHook(PluginFieldEntryHookABC):
    """Mounts the field page and proxies its observable and actions to logic."""

    def load(self):
        """Serve the field page at /peek_plugin_btest/."""
        here = os.path.dirname(__file__)
        self.platform.addFieldStaticResourceDir(os.path.join(here, "field_app"))

    def start(self):
        """Proxy the counter observable and the increment action to logic."""
        self._observable = TupleDataObservableProxyHandler(PLUGIN_NAME, LOGIC_VORTEX, FILT)
        self._actions = TupleActionProcessorProxy(PLUGIN_NAME, LOGIC_VORTEX, FILT)

    def stop(self):
        """Stop proxying."""
        self._actions.shutdown()
        self._observable.shutdown()

    def unload(self):
        """Nothing to release."""
