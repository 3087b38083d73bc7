"""Run something each time another service links to this one, e.g. to call its RPCs.

Calling a service that is not linked fails at once, so code that talks to another
service starts when the link comes up, and again after every reconnect.
"""

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.python.failure import Failure

from vortex.VortexFactory import RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)


class WhenVortexOnline:
    """Calls ``run()`` when ``vortexName`` links up (at once if it is linked already).

    ``run`` returns a Deferred; those still running are cancelled by ``shutdown()``, so a
    stopping plugin leaves nothing behind. A failure of ``run`` is logged as a warning
    (``what`` names it): the other service may come back and the next link tries again.
    """

    def __init__(self, vortexName: str, run: Callable[[], Deferred[Any]], what: str) -> None:
        self._vortexName = vortexName
        self._run = run
        self._what = what
        self._running: set[Deferred[Any]] = set()
        self._removeListener: Callable[[], None] | None = None

    def start(self) -> "WhenVortexOnline":
        """Start watching the links; returns self (for ``self._loadedObjects.append``)."""
        factory = VortexFactory.default()
        self._removeListener = factory.addOnlineListener(self._linkedUp)
        if factory.isVortexNameConnected(self._vortexName):
            self._runNow()
        return self

    def shutdown(self) -> None:
        """Stop watching and cancel what is still running."""
        if self._removeListener is not None:
            self._removeListener()
            self._removeListener = None
        for d in list(self._running):
            d.cancel()

    def _linkedUp(self, info: RemoteVortexInfo) -> None:
        if info.name == self._vortexName and not info.isDevice:
            self._runNow()

    def _runNow(self) -> None:
        d = self._run()
        self._running.add(d)
        d.addErrback(self._failed)
        d.addBoth(lambda _: self._running.discard(d))

    def _failed(self, failure: Failure) -> None:
        if failure.check(CancelledError):
            return  # shutdown() cancelled it: the plugin is stopping.
        logger.warning(
            "%s with %s failed: %s", self._what, self._vortexName, failure.getErrorMessage()
        )
