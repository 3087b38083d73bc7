"""The action "toggle the capitals of an item's name", pushed by the field and office pages."""

from peek_plugin_noop._private.PluginNames import noopTuplePrefix
from vortex.Tuple import TupleField, addTupleType
from vortex.TupleAction import TupleActionABC


@addTupleType
class NoopToggleCapsActionTuple(TupleActionABC):
    """Upper-case the name of item ``itemId``, or lower-case it when it starts upper-case."""

    __tupleType__ = noopTuplePrefix + "NoopToggleCapsActionTuple"

    #: ``NoopItemTuple.id`` of the item to change.
    itemId = TupleField()
