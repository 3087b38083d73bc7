"""The observable proxy on field and office: devices observe the noop data through it.

Devices never talk to logic; the proxy holds one subscription at logic per tuple selector,
however many devices observe it, and answers new devices from its cache.
"""

from peek_plugin_base.PeekVortexUtil import peekLogicName
from peek_plugin_noop._private.PluginNames import noopFilt, noopObservableName
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler


def makeDeviceTupleDataObservableProxy() -> TupleDataObservableProxyHandler:
    """Create the proxy of the noop observable to logic."""
    return TupleDataObservableProxyHandler(
        observableName=noopObservableName,
        proxyToVortexName=peekLogicName,
        additionalFilt=noopFilt,
    )
