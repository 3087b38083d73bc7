"""The action "change the value of an item", pushed by the field and office pages."""

from peek_plugin_noop._private.PluginNames import noopTuplePrefix
from vortex.Tuple import TupleField, addTupleType
from vortex.TupleAction import TupleActionABC


@addTupleType
class NoopIncrementActionTuple(TupleActionABC):
    """Add ``delta`` steps (the ``incrementStep`` setting each) to the item ``itemId``."""

    __tupleType__ = noopTuplePrefix + "NoopIncrementActionTuple"

    #: ``NoopItemTuple.id`` of the item to change.
    itemId = TupleField()
    #: How many steps to add; negative to subtract.
    delta = TupleField(defaultValue=1)
