"""Block a plain (non-Twisted) test until reactor work is done, by iterating the reactor.

Tests that exercise real sockets or thread pools need the reactor to turn; these helpers
turn it (``reactor.iterate``) until a condition holds, with a deadline so a broken test
fails instead of hanging.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

#: Seconds a wait may last before the test fails.
DEFAULT_TIMEOUT = 30.0


def _globalReactor() -> Any:
    from twisted.internet import reactor

    return reactor


def spinReactorUntil(
    predicate: Callable[[], bool], *, reactor: Any = None, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Iterate ``reactor`` (default: the global one) until ``predicate()`` is true.

    Raises ``AssertionError`` naming the timeout when it is not reached in time.
    """
    reactor = reactor if reactor is not None else _globalReactor()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"reactor condition {predicate!r} not reached within {timeout} s")
        reactor.iterate(0.005)


def waitForDeferred(d: Deferred, *, reactor: Any = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Iterate the reactor until ``d`` fires; return its result or raise its failure."""
    outcome: list[Any] = []
    d.addBoth(outcome.append)
    try:
        spinReactorUntil(lambda: bool(outcome), reactor=reactor, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"{d!r} did not fire within {timeout} s") from None
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]
