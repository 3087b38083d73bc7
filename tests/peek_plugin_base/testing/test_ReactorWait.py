"""Tests for peek_plugin_base/testing/ReactorWait.py: waiting on a reactor by iterating it."""

from __future__ import annotations

import pytest
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from peek_plugin_base.testing.ReactorWait import spinReactorUntil, waitForDeferred


class IterableClock(Clock):
    """A Clock whose ``iterate(delay)`` advances time, as a real reactor's turn would."""

    def iterate(self, delay: float = 0) -> None:
        self.advance(delay)


def test_wait_returns_the_result_once_the_reactor_fires_it():
    """A Deferred fired by a delayed call is waited for and its result returned."""
    clock = IterableClock()
    d: Deferred[str] = Deferred()
    clock.callLater(0.02, d.callback, "done")
    assert waitForDeferred(d, reactor=clock) == "done"


def test_wait_raises_the_failure():
    """A failed Deferred raises its exception."""
    with pytest.raises(KeyError, match="nope"):
        waitForDeferred(fail(KeyError("nope")), reactor=IterableClock())


def test_wait_gives_up_after_the_timeout():
    """A Deferred that never fires fails the wait, saying so."""
    with pytest.raises(AssertionError, match=r"did not fire within 0\.05 s"):
        waitForDeferred(Deferred(), reactor=IterableClock(), timeout=0.05)


def test_spin_stops_when_the_predicate_holds():
    """spinReactorUntil returns as soon as the predicate is true, having turned the reactor."""
    clock = IterableClock()
    seen: list[int] = []
    clock.callLater(0.01, seen.append, 1)
    spinReactorUntil(lambda: seen == [1], reactor=clock)
    assert waitForDeferred(succeed(seen), reactor=clock) == [1]
