"""The browser-test plugin's names and its one tuple."""

from vortex.Tuple import Tuple, TupleField, addTupleType

PLUGIN_NAME = "peek_plugin_btest"
FILT = {"plugin": PLUGIN_NAME}
COUNTER_TUPLE = "peek_plugin_btest.CounterTuple"


@addTupleType
class CounterTuple(Tuple):
    """The shared counter's value."""

    __tupleType__ = COUNTER_TUPLE

    value: int = TupleField(0, typingType=int)
