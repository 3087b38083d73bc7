"""The observable and the action processor of the messaging test plugin on logic."""

from __future__ import annotations

import os

from peek_plugin_msgtest._private.logic.LogicState import LogicState
from peek_plugin_msgtest._private.PluginNames import (
    msgtestActionProcessorName,
    msgtestFilt,
    msgtestObservableName,
)
from peek_plugin_msgtest._private.tuples import (
    MsgTestError,
    MsgTestFailingAction,
    MsgTestSetValueAction,
    MsgTestValueTuple,
)
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleDataObservableHandler import (
    TupleDataObservableHandler,
    TuplesProviderABC,
)
from vortex.Payload import Payload
from vortex.TupleSelector import TupleSelector


def boardSelector(board: str) -> TupleSelector:
    """The selector of one board's value."""
    return TupleSelector(MsgTestValueTuple.tupleName(), {"board": board})


class BoardValueProvider(TuplesProviderABC):
    """Serves one board's current value, stamped with this logic process's pid."""

    def __init__(self, state: LogicState) -> None:
        self._state = state

    def makeVortexMsg(self, filt: dict, tupleSelector: TupleSelector) -> bytes:
        """The board's value tuple as a vortex message."""
        board = tupleSelector.selector["board"]
        value = self._state.values.get(board, 0)
        tup = MsgTestValueTuple(
            board=board, value=value, text=f"{board}={value}", logicPid=os.getpid()
        )
        return Payload(filt, tuples=[tup]).toVortexMsg()


class SetValueDelegate(TupleActionProcessorDelegateABC):
    """Sets a board's value and notifies its observers; answers with the new value tuple."""

    def __init__(self, state: LogicState, observable: TupleDataObservableHandler) -> None:
        self._state = state
        self._observable = observable

    def processTupleAction(self, tupleAction: MsgTestSetValueAction) -> list:
        """Store the value, notify, and return the new value."""
        self._state.values[tupleAction.board] = tupleAction.value
        self._observable.notifyOfTupleUpdate(boardSelector(tupleAction.board))
        return [MsgTestValueTuple(board=tupleAction.board, value=tupleAction.value)]


class FailingDelegate(TupleActionProcessorDelegateABC):
    """Always raises, so the pusher gets one ``exception`` error."""

    def processTupleAction(self, tupleAction: MsgTestFailingAction) -> None:
        """Raise MsgTestError naming the action's reason."""
        raise MsgTestError(f"delegate refused: {tupleAction.reason}")


class LogicHandlers:
    """The observable (one provider) and the processor (two delegates, no default)."""

    def __init__(self, state: LogicState) -> None:
        self.observable = TupleDataObservableHandler(
            msgtestObservableName, additionalFilt=msgtestFilt
        )
        self.observable.addTupleProvider(MsgTestValueTuple.tupleName(), BoardValueProvider(state))
        self.processor = TupleActionProcessor(
            msgtestActionProcessorName, additionalFilt=msgtestFilt, defaultDelegate=None
        )
        self.processor.setDelegate(
            MsgTestSetValueAction.tupleName(), SetValueDelegate(state, self.observable)
        )
        self.processor.setDelegate(MsgTestFailingAction.tupleName(), FailingDelegate())

    def shutdown(self) -> None:
        """Stop the processor and the observable."""
        self.processor.shutdown()
        self.observable.shutdown()
