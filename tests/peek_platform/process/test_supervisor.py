"""Tests of child supervision: output relay, restart backoff, and stopping every child."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from twisted.internet import error
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from peek_platform.process.supervisor import (
    ChildCommand,
    RestartBackoff,
    RestartPolicy,
    Supervisor,
    describeExit,
)

POLICY = RestartPolicy(initialDelaySeconds=1, maxDelaySeconds=30, resetAfterSeconds=60)


class FakeProcess:
    """A spawned child: records signals; ``exit`` ends it as the OS would."""

    def __init__(self, protocol: ProcessProtocol, command: ChildCommand, pid: int) -> None:
        self.protocol = protocol
        self.command = command
        self.pid = pid
        self.signals: list[str] = []
        self.ended = False

    def signalProcess(self, name: str) -> None:
        if self.ended:
            raise error.ProcessExitedAlready()
        self.signals.append(name)

    def exit(self, exitCode: int | None = 0, signal: int | None = None) -> None:
        self.ended = True
        if exitCode == 0 and signal is None:
            reason = Failure(error.ProcessDone(0))
        else:
            reason = Failure(error.ProcessTerminated(exitCode, signal))
        self.protocol.processEnded(reason)


class FakeSpawner:
    """Spawn function that records every child it starts."""

    def __init__(self) -> None:
        self.spawned: list[FakeProcess] = []
        self.failNext = False

    def __call__(self, protocol: ProcessProtocol, command: ChildCommand) -> FakeProcess:
        if self.failNext:
            self.failNext = False
            raise OSError("exec format error")
        process = FakeProcess(protocol, command, pid=1000 + len(self.spawned))
        protocol.makeConnection(process)
        self.spawned.append(process)
        return process

    def latest(self, key: str) -> FakeProcess:
        return [p for p in self.spawned if p.command.key == key][-1]

    def count(self, key: str) -> int:
        return sum(1 for p in self.spawned if p.command.key == key)


@pytest.fixture
def clock() -> Clock:
    """The supervisor's fake clock."""
    return Clock()


@pytest.fixture
def spawner() -> FakeSpawner:
    """The supervisor's fake spawn function."""
    return FakeSpawner()


@pytest.fixture
def lines() -> list[tuple[str, str]]:
    """Relayed ``(key, line)`` pairs."""
    return []


@pytest.fixture
def makeSupervisor(clock, spawner, lines) -> Callable[..., Supervisor]:
    """Factory of supervisors over the fakes, for children named by ``keys``."""

    def make(*keys: str, graceSeconds: float = 15.0) -> Supervisor:
        return Supervisor(
            [ChildCommand(key=key, argv=("python", "-m", key)) for key in keys],
            clock=clock,
            spawn=spawner,
            relay=lambda key, line: lines.append((key, line)),
            policy=POLICY,
            graceSeconds=graceSeconds,
        )

    return make


def test_backoff_doubles_up_to_the_cap():
    """Quick crashes double the delay from the initial value up to the cap."""
    backoff = RestartBackoff(POLICY)
    delays = [backoff.nextDelay(ranSeconds=2) for _ in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]


def test_backoff_resets_after_a_long_run():
    """A child that ran at least resetAfterSeconds restarts after the initial delay again."""
    backoff = RestartBackoff(POLICY)
    for _ in range(4):
        backoff.nextDelay(ranSeconds=1)
    assert backoff.nextDelay(ranSeconds=60) == 1
    assert backoff.nextDelay(ranSeconds=1) == 2


def test_start_spawns_children_in_order(makeSupervisor, spawner):
    """Children start in the order given (logic first in the launcher)."""
    makeSupervisor("logic", "field", "worker").start()
    assert [p.command.key for p in spawner.spawned] == ["logic", "field", "worker"]


def test_output_lines_are_relayed_with_key(makeSupervisor, spawner, lines):
    """Output is split into whole lines per stream; a partial line waits for its end."""
    makeSupervisor("logic").start()
    protocol = spawner.latest("logic").protocol
    protocol.childDataReceived(1, b"one\ntw")
    protocol.childDataReceived(2, b"err line\r\n")
    protocol.childDataReceived(1, b"o\nthree")
    assert lines == [("logic", "one"), ("logic", "err line"), ("logic", "two")]
    spawner.latest("logic").exit(0)
    assert lines[-1] == ("logic", "three")


def test_crashed_child_restarts_after_backoff(makeSupervisor, spawner, clock, caplog):
    """A child killed by a signal is restarted after the backoff delay, and it is logged."""
    makeSupervisor("logic", "field").start()
    clock.advance(5)
    spawner.latest("field").exit(None, signal=9)
    assert "field: was killed by SIGKILL after running 5.0 s; restarting in 1 s" in caplog.text
    clock.advance(0.9)
    assert spawner.count("field") == 1
    clock.advance(0.1)
    assert spawner.count("field") == 2
    assert spawner.count("logic") == 1


def test_repeated_quick_exits_back_off_further(makeSupervisor, spawner, clock, caplog):
    """Each quick exit doubles the next delay; the exit status is logged."""
    makeSupervisor("agent").start()
    spawner.latest("agent").exit(3)
    clock.advance(1)
    spawner.latest("agent").exit(3)
    assert "agent: exited with status 3 after running 0.0 s; restarting in 2 s" in caplog.text
    clock.advance(1.9)
    assert spawner.count("agent") == 2
    clock.advance(0.1)
    assert spawner.count("agent") == 3


def test_spawn_failure_is_retried_with_backoff(makeSupervisor, spawner, clock, caplog):
    """A child that cannot be spawned at all is logged and retried after the delay."""
    spawner.failNext = True
    makeSupervisor("worker").start()
    assert "worker: could not start python -m worker" in caplog.text
    assert spawner.count("worker") == 0
    clock.advance(1)
    assert spawner.count("worker") == 1


def test_stop_sends_sigterm_and_fires_when_all_exited(makeSupervisor, spawner):
    """Stop sends SIGTERM to each child; its Deferred fires only after all have exited."""
    supervisor = makeSupervisor("logic", "field")
    supervisor.start()
    done = supervisor.stop()
    assert [p.signals for p in spawner.spawned] == [["TERM"], ["TERM"]]
    spawner.latest("logic").exit(0)
    assert not done.called
    spawner.latest("field").exit(0)
    assert done.called
    assert supervisor.runningKeys() == []


def test_no_restart_after_stop(makeSupervisor, spawner, clock):
    """A child that exits during stop is not restarted."""
    supervisor = makeSupervisor("logic")
    supervisor.start()
    supervisor.stop()
    spawner.latest("logic").exit(None, signal=15)
    clock.advance(100)
    assert spawner.count("logic") == 1


def test_stop_cancels_pending_restart(makeSupervisor, spawner, clock):
    """A restart scheduled before stop never happens, and stop does not wait for it."""
    supervisor = makeSupervisor("office")
    supervisor.start()
    spawner.latest("office").exit(1)
    done = supervisor.stop()
    clock.advance(100)
    assert spawner.count("office") == 1
    assert done.called


def test_child_ignoring_sigterm_gets_sigkill_after_grace(makeSupervisor, spawner, clock, caplog):
    """A child still running after the grace period gets SIGKILL, and that is logged."""
    supervisor = makeSupervisor("logic", graceSeconds=15)
    supervisor.start()
    supervisor.stop()
    clock.advance(14.9)
    assert spawner.latest("logic").signals == ["TERM"]
    with caplog.at_level(logging.WARNING):
        clock.advance(0.1)
    assert spawner.latest("logic").signals == ["TERM", "KILL"]
    assert "logic: still running 15 s after SIGTERM; sending SIGKILL" in caplog.text


def test_kill_all_sends_sigkill_now(makeSupervisor, spawner):
    """killAll (a second stop request) sends SIGKILL to every running child at once."""
    supervisor = makeSupervisor("logic", "field")
    supervisor.start()
    supervisor.stop()
    supervisor.killAll()
    assert [p.signals for p in spawner.spawned] == [["TERM", "KILL"], ["TERM", "KILL"]]


def test_describe_exit_names_status_or_signal():
    """Exit descriptions say the status, or the signal that killed the process."""
    assert describeExit(Failure(error.ProcessDone(0))) == "exited with status 0"
    assert describeExit(Failure(error.ProcessTerminated(2))) == "exited with status 2"
    assert describeExit(Failure(error.ProcessTerminated(None, 15))) == "was killed by SIGTERM"
