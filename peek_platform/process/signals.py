"""Stop signals: the first SIGINT/SIGTERM asks for a graceful stop, a repeat forces one.

Twisted's own handlers call ``reactor.stop()`` on every signal, which fails once a stop is
under way, so a second Ctrl-C could never cut a hung shutdown short. These handlers replace
Twisted's for the stop signals only (SIGCHLD stays Twisted's, child processes need it).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from types import FrameType

#: The signals that stop a Peek process.
STOP_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)


def signalName(signum: int) -> str:
    """Human name of a signal number, e.g. ``SIGTERM``; the number if it has no name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


class StopSignalHandler:
    """Dispatch stop signals: the first to ``onGraceful``, every later one to ``onForced``.

    Both callbacks run inside the Python signal handler (on the main thread, between
    bytecodes), so ``onGraceful`` should only hand work to the reactor with
    ``reactor.callFromThread``; ``onForced`` may act directly, because its job is to end the
    process even when the reactor is stuck.
    """

    def __init__(
        self,
        *,
        onGraceful: Callable[[int], None],
        onForced: Callable[[int], None],
        signals: Sequence[int] = STOP_SIGNALS,
    ) -> None:
        self._onGraceful = onGraceful
        self._onForced = onForced
        self._signals = tuple(signals)
        self._stopping = False

    @property
    def stopping(self) -> bool:
        """True once a graceful stop was asked for, by a signal or by ``markStopping``."""
        return self._stopping

    def install(self) -> None:
        """Make this object the process's handler of every stop signal."""
        for signum in self._signals:
            signal.signal(signum, self.handle)

    def markStopping(self) -> None:
        """Record that a graceful stop began for another reason, so a signal now forces."""
        self._stopping = True

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        """Signal handler: graceful on the first stop request, forced on any later one."""
        if self._stopping:
            self._onForced(signum)
            return
        self._stopping = True
        self._onGraceful(signum)
