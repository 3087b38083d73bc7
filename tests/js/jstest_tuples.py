"""Tuple types shared by the JS client tests' Python helpers (codec vectors and test server)."""

from vortex.Tuple import Tuple, TupleField, addTupleType


@addTupleType
class JsTestItem(Tuple):
    """A tuple the JS tests register a class for (``jstest.Item``)."""

    __tupleType__ = "jstest.Item"

    id = TupleField()
    name = TupleField()
    value = TupleField()
    when = TupleField()
    extra = TupleField(defaultValue=dict)


@addTupleType
class JsTestUnregistered(Tuple):
    """A tuple the JS tests do not register, so it decodes as a generic tuple there."""

    __tupleType__ = "jstest.Unregistered"

    a = TupleField()
    nested = TupleField()
