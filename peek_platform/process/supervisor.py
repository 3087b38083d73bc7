"""Supervise child processes: relay their output, restart crashed ones with backoff, stop all.

Twisted's ``twisted.runner.procmon.ProcessMonitor`` was considered and does not fit: it
backs off only for deaths within ``threshold`` and otherwise restarts at once (no minimum
delay), it does not say why a child died or when it comes back, it relays output to the
Twisted logger rather than to a line sink, and its ``stopService`` does not wait for the
children to exit, which the launcher needs before it can exit 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import error
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IDelayedCall, IProcessTransport, IReactorTime
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

from peek_platform.process.signals import signalName

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a child that exited on its own."""

    #: Delay before the first restart after a quick crash.
    initialDelaySeconds: float = 1.0
    #: The delay doubles on each quick crash up to this cap.
    maxDelaySeconds: float = 30.0
    #: A child that ran at least this long restarts after the initial delay again.
    resetAfterSeconds: float = 60.0


class RestartBackoff:
    """The restart delays of one child: doubling and capped, reset after a long run."""

    def __init__(self, policy: RestartPolicy) -> None:
        self._policy = policy
        self._next = policy.initialDelaySeconds

    def nextDelay(self, ranSeconds: float) -> float:
        """Delay before restarting a child that ran ``ranSeconds`` before it exited."""
        if ranSeconds >= self._policy.resetAfterSeconds:
            self._next = self._policy.initialDelaySeconds
        delay = self._next
        self._next = min(self._next * 2, self._policy.maxDelaySeconds)
        return delay


@dataclass(frozen=True)
class ChildCommand:
    """One supervised command: its key (used as output prefix), argv and environment."""

    key: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


#: Starts ``command`` with ``protocol`` attached; ``reactor.spawnProcess`` in production.
SpawnFunction = Callable[[ProcessProtocol, ChildCommand], IProcessTransport]


def reactorSpawner(reactor: Any) -> SpawnFunction:
    """A ``SpawnFunction`` that uses ``reactor.spawnProcess``."""

    def spawn(protocol: ProcessProtocol, command: ChildCommand) -> IProcessTransport:
        return reactor.spawnProcess(
            protocol, command.argv[0], list(command.argv), env=dict(command.env)
        )

    return spawn


def describeExit(reason: Failure) -> str:
    """Say how a process ended: ``exited with status 3`` or ``was killed by SIGKILL``."""
    value = reason.value
    signum = getattr(value, "signal", None)
    if signum is not None:
        return f"was killed by {signalName(signum)}"
    exitCode = getattr(value, "exitCode", None)
    if exitCode is not None:
        return f"exited with status {exitCode}"
    return f"ended: {value}"


class _LineRelay(ProcessProtocol):
    """Split a child's stdout and stderr into lines and hand each to ``relay``."""

    def __init__(
        self,
        key: str,
        relay: Callable[[str, str], None],
        onEnded: Callable[[Failure], None],
    ) -> None:
        self._key = key
        self._relay = relay
        self._onEnded = onEnded
        self._partial: dict[int, bytes] = {}

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        *lines, rest = (self._partial.pop(childFD, b"") + data).split(b"\n")
        if rest:
            self._partial[childFD] = rest
        for line in lines:
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        self._relay(self._key, line.rstrip(b"\r").decode("utf-8", errors="replace"))

    def processEnded(self, reason: Failure) -> None:
        for rest in self._partial.values():
            self._emit(rest)
        self._partial.clear()
        self._onEnded(reason)


class _Child:
    """Mutable supervision state of one command."""

    def __init__(self, command: ChildCommand, policy: RestartPolicy) -> None:
        self.command = command
        self.backoff = RestartBackoff(policy)
        self.transport: IProcessTransport | None = None
        self.startedAt = 0.0
        self.exited: Deferred[None] | None = None
        self.restartCall: IDelayedCall | None = None
        self.killCall: IDelayedCall | None = None


class Supervisor:
    """Run commands as children, restart those that exit, and stop them all on request."""

    def __init__(
        self,
        commands: Sequence[ChildCommand],
        *,
        clock: IReactorTime,
        spawn: SpawnFunction,
        relay: Callable[[str, str], None],
        policy: RestartPolicy = RestartPolicy(),
        graceSeconds: float = 15.0,
    ) -> None:
        self._children = [_Child(command, policy) for command in commands]
        self._clock = clock
        self._spawn = spawn
        self._relay = relay
        self._graceSeconds = graceSeconds
        self._stopping = False

    def runningKeys(self) -> list[str]:
        """Keys of the children that are running now, in start order."""
        return [child.command.key for child in self._children if child.transport is not None]

    def pid(self, key: str) -> int | None:
        """Process id of the running child ``key``, or None."""
        for child in self._children:
            if child.command.key == key and child.transport is not None:
                return child.transport.pid
        return None

    def start(self) -> None:
        """Start every child, in the order given."""
        for child in self._children:
            self._startChild(child)

    def _startChild(self, child: _Child) -> None:
        child.restartCall = None
        key = child.command.key
        protocol = _LineRelay(key, self._relay, lambda reason: self._childEnded(child, reason))
        child.startedAt = self._clock.seconds()
        child.exited = Deferred()
        try:
            child.transport = self._spawn(protocol, child.command)
        except OSError:
            logger.exception("%s: could not start %s", key, " ".join(child.command.argv))
            self._childEnded(child, Failure())
            return
        logger.info("%s: started (pid %s)", key, child.transport.pid)

    def _childEnded(self, child: _Child, reason: Failure) -> None:
        key = child.command.key
        child.transport = None
        if child.killCall is not None and child.killCall.active():
            child.killCall.cancel()
        child.killCall = None
        ranSeconds = self._clock.seconds() - child.startedAt
        exited, child.exited = child.exited, None
        if self._stopping:
            logger.info("%s: %s", key, describeExit(reason))
        else:
            delay = child.backoff.nextDelay(ranSeconds)
            logger.warning(
                "%s: %s after running %.1f s; restarting in %.0f s",
                key,
                describeExit(reason),
                ranSeconds,
                delay,
            )
            child.restartCall = self._clock.callLater(delay, self._startChild, child)
        if exited is not None:
            exited.callback(None)

    def stop(self) -> Deferred[None]:
        """Stop restarting, send SIGTERM to every child, SIGKILL any still alive after grace.

        The Deferred fires once every child has exited.
        """
        self._stopping = True
        waits = []
        for child in self._children:
            if child.restartCall is not None and child.restartCall.active():
                child.restartCall.cancel()
            child.restartCall = None
            if child.transport is None or child.exited is None:
                continue
            waits.append(child.exited)
            logger.info("%s: sending SIGTERM", child.command.key)
            self._signal(child, "TERM")
            child.killCall = self._clock.callLater(self._graceSeconds, self._killLate, child)
        return DeferredList(waits).addCallback(lambda _: None)

    def _killLate(self, child: _Child) -> None:
        child.killCall = None
        logger.warning(
            "%s: still running %.0f s after SIGTERM; sending SIGKILL",
            child.command.key,
            self._graceSeconds,
        )
        self._signal(child, "KILL")

    def killAll(self) -> None:
        """Send SIGKILL to every running child now (a second stop request)."""
        self._stopping = True
        for child in self._children:
            if child.restartCall is not None and child.restartCall.active():
                child.restartCall.cancel()
            child.restartCall = None
            if child.transport is not None:
                logger.warning("%s: sending SIGKILL", child.command.key)
                self._signal(child, "KILL")

    @staticmethod
    def _signal(child: _Child, name: str) -> None:
        assert child.transport is not None
        try:
            child.transport.signalProcess(name)
        except error.ProcessExitedAlready:
            # It exited between our check and the signal; processEnded reports the exit.
            pass
