"""The action proxy on field and office: devices' actions go through it to logic."""

from peek_plugin_base.PeekVortexUtil import peekLogicName
from peek_plugin_noop._private.PluginNames import noopActionProcessorName, noopFilt
from vortex.handler.TupleActionProcessorProxy import TupleActionProcessorProxy


def makeTupleActionProcessorProxy() -> TupleActionProcessorProxy:
    """Create the proxy forwarding noop actions to the processor on logic."""
    return TupleActionProcessorProxy(
        tupleActionProcessorName=noopActionProcessorName,
        proxyToVortexName=peekLogicName,
        additionalFilt=noopFilt,
    )
