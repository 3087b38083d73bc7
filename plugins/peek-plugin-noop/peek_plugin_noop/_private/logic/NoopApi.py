"""The noop plugin's published API on logic, handed to other plugins (see NoopApiABC)."""

from twisted.internet.defer import Deferred

from peek_plugin_noop._private.logic.controller.MainController import MainController
from peek_plugin_noop.logic.NoopApiABC import NoopApiABC
from peek_plugin_noop.tuples.DoSomethingTuple import DoSomethingTuple


class NoopApi(NoopApiABC):
    """Implements the API with the plugin's main controller."""

    def __init__(self, mainController: MainController) -> None:
        self._mainController = mainController

    def doSomethingGood(self, somethingsDescription: str) -> DoSomethingTuple:
        """Do something and say what was done."""
        return DoSomethingTuple(result="SUCCESS : " + somethingsDescription)

    def itemValues(self) -> Deferred[dict[str, int]]:
        """A Deferred of every item's value by item name."""
        return self._mainController.itemValues()

    def shutdown(self) -> None:
        """Nothing to release."""
