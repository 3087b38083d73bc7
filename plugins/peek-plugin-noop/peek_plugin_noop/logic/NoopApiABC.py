"""What the noop plugin offers other plugins on the logic service.

Another plugin gets it with ``self.platform.getOtherPluginApi("peek_plugin_noop")`` (on the
same service only) and should import nothing else of this plugin than ``logic`` and
``tuples``.
"""

from abc import ABCMeta, abstractmethod

from twisted.internet.defer import Deferred

from peek_plugin_noop.tuples.DoSomethingTuple import DoSomethingTuple


class NoopApiABC(metaclass=ABCMeta):
    """The published API of the noop plugin on the logic service."""

    @abstractmethod
    def doSomethingGood(self, somethingsDescription: str) -> DoSomethingTuple:
        """Do something and say what was done, e.g. for "a test": "SUCCESS : a test"."""

    @abstractmethod
    def itemValues(self) -> Deferred[dict[str, int]]:
        """A Deferred of every item's value by item name."""
