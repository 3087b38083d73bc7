"""The public result of ``NoopApiABC.doSomethingGood``."""

from peek_plugin_noop._private.PluginNames import noopTuplePrefix
from vortex.Tuple import Tuple, TupleField, addTupleType


@addTupleType
class DoSomethingTuple(Tuple):
    """What the noop plugin's API did for another plugin."""

    __tupleType__ = noopTuplePrefix + "DoSomethingTuple"

    #: A sentence describing the result.
    result = TupleField()
