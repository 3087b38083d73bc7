"""Run codec work inline when it is small, in the reactor's thread pool when it is large."""

from collections.abc import Callable
from typing import Any, cast

from twisted.internet import defer, threads
from twisted.internet.interfaces import IReactorThreads

#: Above this many tuples (or encoded bytes) the work moves off the reactor thread.
INLINE_MAX_TUPLES = 500
INLINE_MAX_BYTES = 256 * 1024


def runDeferred(
    fn: Callable[..., Any], *args: Any, inline: bool, reactor: IReactorThreads | None = None
) -> Any:
    """Return a Deferred of fn(*args); a thread hop costs more than small payloads take."""
    if inline:
        return defer.maybeDeferred(fn, *args)
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = cast(IReactorThreads, globalReactor)
    return threads.deferToThreadPool(reactor, reactor.getThreadPool(), fn, *args)
