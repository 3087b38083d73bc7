"""Tuples and actions of the messaging test plugin (registered in every process importing it)."""

from __future__ import annotations

from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.TupleAction import TupleActionABC


class MsgTestError(Exception):
    """Raised on purpose by RPCs and delegates, so callers can see its name and message."""


@addTupleType
class MsgTestValueTuple(Tuple):
    """The observable data: one board's value, plus the pid of the logic that produced it."""

    __tupleType__ = "peek_plugin_msgtest.MsgTestValueTuple"

    board = TupleField()
    value = TupleField()
    text = TupleField()
    logicPid = TupleField()


@addTupleType
class MsgTestOutcomeTuple(Tuple):
    """How a call made inside a service ended: its value, or the error's class and details.

    ``settledAtOnce`` is True when the call's Deferred had fired before the call returned
    (a call that was never sent, e.g. to a vortex that is not connected).
    """

    __tupleType__ = "peek_plugin_msgtest.MsgTestOutcomeTuple"

    value = TupleField()
    errorClass = TupleField()
    code = TupleField()
    remoteType = TupleField()
    remoteMessage = TupleField()
    message = TupleField()
    settledAtOnce = TupleField()


@addTupleType
class MsgTestSetValueAction(TupleActionABC):
    """Set a board's value on logic; its delegate notifies the observable."""

    __tupleType__ = "peek_plugin_msgtest.MsgTestSetValueAction"

    board = TupleField()
    value = TupleField()


@addTupleType
class MsgTestFailingAction(TupleActionABC):
    """An action whose delegate on logic raises MsgTestError with ``reason``."""

    __tupleType__ = "peek_plugin_msgtest.MsgTestFailingAction"

    reason = TupleField()


@addTupleType
class MsgTestUnhandledAction(TupleActionABC):
    """An action type the logic processor has no delegate for."""

    __tupleType__ = "peek_plugin_msgtest.MsgTestUnhandledAction"

    note = TupleField()


@addTupleType
class MsgTestCallLogicAction(TupleActionABC):
    """Ask the device service (field/office) to call a logic RPC itself and report the outcome."""

    __tupleType__ = "peek_plugin_msgtest.MsgTestCallLogicAction"

    rpcName = TupleField()
    args = TupleField(defaultValue=list)
    kwargs = TupleField(defaultValue=dict)
