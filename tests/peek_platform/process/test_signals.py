"""Tests of the stop-signal policy: first signal graceful, any later one forced."""

from __future__ import annotations

import os
import signal

from peek_platform.process.signals import StopSignalHandler, signalName


def recordingHandler() -> tuple[StopSignalHandler, list[tuple[str, int]]]:
    """A handler whose callbacks append ``(path, signum)`` to the returned list."""
    seen: list[tuple[str, int]] = []
    handler = StopSignalHandler(
        onGraceful=lambda signum: seen.append(("graceful", signum)),
        onForced=lambda signum: seen.append(("forced", signum)),
    )
    return handler, seen


def test_first_signal_is_graceful_and_later_ones_forced():
    """The first stop signal takes the graceful path; every later one the forced path."""
    handler, seen = recordingHandler()
    handler.handle(signal.SIGTERM)
    handler.handle(signal.SIGINT)
    handler.handle(signal.SIGTERM)
    assert seen == [
        ("graceful", signal.SIGTERM),
        ("forced", signal.SIGINT),
        ("forced", signal.SIGTERM),
    ]


def test_signal_after_stop_began_elsewhere_is_forced():
    """Once a graceful stop began for another reason, the first signal already forces."""
    handler, seen = recordingHandler()
    handler.markStopping()
    handler.handle(signal.SIGINT)
    assert seen == [("forced", signal.SIGINT)]


def test_install_routes_real_signals_to_handler():
    """After install, a real SIGTERM delivered to this process reaches the handler."""
    handler, seen = recordingHandler()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        handler.install()
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    assert seen == [("graceful", signal.SIGTERM)]


def test_signal_name_names_known_and_unknown_signals():
    """Signals are named like SIGTERM; an unknown number is shown as the number."""
    assert signalName(signal.SIGTERM) == "SIGTERM"
    assert signalName(999) == "999"
