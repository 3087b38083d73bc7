"""A minimal reactor for testing code that only defers work to threads (storage code).

``DbConnection`` and other storage helpers need just ``getThreadPool()`` and
``callFromThread()``. :class:`ThreadReactor` provides them with a real pool and delivers
results in the worker thread, so a test can block on the Deferred with :func:`blockOn`
without running any reactor loop.
"""

from __future__ import annotations

import threading
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool


class ThreadReactor:
    """A running thread pool and an immediate ``callFromThread``; ``stop()`` ends the pool."""

    def __init__(self, maxThreads: int = 8) -> None:
        self.pool = ThreadPool(minthreads=0, maxthreads=maxThreads, name="peek-test-threads")
        self.pool.start()

    def getThreadPool(self) -> ThreadPool:
        """The running pool work is deferred to."""
        return self.pool

    def callFromThread(self, f: Any, *args: Any, **kwargs: Any) -> None:
        """Call ``f`` at once, in the calling (worker) thread."""
        f(*args, **kwargs)

    def stop(self) -> None:
        """Stop the pool, waiting for running work."""
        self.pool.stop()


def blockOn(d: Deferred, timeout: float = 30) -> Any:
    """Block the calling thread until ``d`` fires; its result, or raise its failure."""
    done = threading.Event()
    outcome: list[Any] = []

    def record(result: Any) -> None:
        outcome.append(result)
        done.set()

    d.addBoth(record)
    if not done.wait(timeout):
        raise AssertionError(f"{d!r} did not fire within {timeout} s")
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]
