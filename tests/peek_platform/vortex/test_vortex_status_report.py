"""Tests for peek_platform/vortex/status_report.py (Clock-driven, no sockets)."""

from __future__ import annotations

from twisted.internet import defer, task

from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.vortex.status_report import (
    STATUS_COALESCE_SECONDS,
    STATUS_LOOK_SHARE,
    LoaderStatusWatcher,
    ServiceIdentity,
    StatusReporter,
)
from peek_platform.vortex.tuples import STATUS_REPORT_FILT, ServiceStatusTuple
from vortex.PayloadEnvelope import PayloadEnvelope


class FakeFactory:
    """Records what the reporter sends; ``linked`` says whether logic is connected."""

    def __init__(self) -> None:
        self.linked = False
        self.sent: list[tuple[bytes, str]] = []
        self.online = []

    def isVortexNameConnected(self, name: str) -> bool:
        return self.linked

    def sendVortexMsg(self, msg: bytes, destVortexName: str) -> defer.Deferred:
        self.sent.append((msg, destVortexName))
        return defer.succeed(None)

    def addOnlineListener(self, listener):
        self.online.append(listener)
        return lambda: self.online.remove(listener)


class Info:
    name = "peek-logic-service"
    isDevice = False


def statuses(state: PluginState = PluginState.STARTED) -> list[PluginStatus]:
    return [PluginStatus(name="peek_plugin_a", version="1.0", state=state)]


class Notifier:
    """Stands in for the loader's ``addStatusListener``."""

    def __init__(self) -> None:
        self.listeners: list = []

    def subscribe(self, listener):
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def changed(self) -> None:
        for listener in list(self.listeners):
            listener()


def test_watcher_reports_at_start_and_only_real_changes():
    """The watcher calls back at start and then only when a notified change differs."""
    notifier, current, seen = Notifier(), statuses(), []
    watcher = LoaderStatusWatcher(lambda: current, seen.append, subscribe=notifier.subscribe)
    watcher.start()
    notifier.changed()
    notifier.changed()
    assert [[p.state for p in plugins] for plugins in seen] == [["started"]]
    current[:] = statuses(PluginState.FAILED)
    notifier.changed()
    assert [p.state for p in seen[-1]] == ["failed"] and len(seen) == 2
    watcher.stop()
    assert notifier.listeners == []


def test_watcher_with_a_clock_looks_once_per_burst_of_changes():
    """With a clock, many changes within the coalescing delay make one look at the loader
    and one report, after the delay; stop cancels a look still pending."""
    notifier, current, seen, reads = Notifier(), statuses(), [], []

    def read():
        reads.append(1)
        return current

    clock = task.Clock()
    watcher = LoaderStatusWatcher(read, seen.append, subscribe=notifier.subscribe, clock=clock)
    watcher.start()
    assert (len(reads), len(seen)) == (1, 1)
    current[:] = statuses(PluginState.FAILED)
    for _ in range(50):
        notifier.changed()
    assert (len(reads), len(seen)) == (1, 1)
    clock.advance(STATUS_COALESCE_SECONDS)
    assert (len(reads), [p.state for p in seen[-1]]) == (2, ["failed"])
    notifier.changed()
    watcher.stop()
    clock.advance(STATUS_COALESCE_SECONDS)
    assert len(reads) == 2 and clock.getDelayedCalls() == []


def test_watcher_waits_longer_after_a_slow_look():
    """A look that took long (many plugins) delays the next one to STATUS_LOOK_SHARE times
    its duration, so watching hundreds of plugins start costs time linear in their number."""
    notifier, current, reads = Notifier(), statuses(), []
    clock = task.Clock()
    lookSeconds = 0.05

    def read():
        reads.append(clock.seconds())
        clock.advance(lookSeconds)  # the look itself takes lookSeconds
        return current

    watcher = LoaderStatusWatcher(read, lambda _: None, subscribe=notifier.subscribe, clock=clock)
    watcher.start()
    notifier.changed()
    clock.advance(STATUS_COALESCE_SECONDS)
    assert len(reads) == 2
    notifier.changed()
    slowDelay = STATUS_LOOK_SHARE * lookSeconds
    assert slowDelay > STATUS_COALESCE_SECONDS
    clock.advance(slowDelay - 0.001)
    assert len(reads) == 2
    clock.advance(0.001)
    assert len(reads) == 3
    watcher.stop()


def test_reporter_sends_status_on_link_up_and_on_change():
    """A report goes to logic when the link comes up and when a plugin changes state."""
    notifier, factory, current = Notifier(), FakeFactory(), statuses()
    identity = ServiceIdentity("agent", "peek-agent-service", "uuid-1", host="h", pid=7)
    reporter = StatusReporter(factory, identity, lambda: current, subscribe=notifier.subscribe)
    reporter.start()
    assert factory.sent == []  # not linked yet: nothing to send
    factory.linked = True
    factory.online[0](Info())
    assert len(factory.sent) == 1
    msg, dest = factory.sent[0]
    assert dest == "peek-logic-service"
    envelope = PayloadEnvelope.fromVortexMsg(msg)
    assert envelope.filt == STATUS_REPORT_FILT
    [status] = envelope.decodePayload().tuples
    assert isinstance(status, ServiceStatusTuple)
    assert (status.serviceKey, status.vortexUuid, status.pid, status.host) == (
        "agent",
        "uuid-1",
        7,
        "h",
    )
    assert [(p.name, p.state) for p in status.plugins] == [("peek_plugin_a", "started")]
    current[:] = statuses(PluginState.STOPPED)
    notifier.changed()
    assert len(factory.sent) == 2
    reporter.stop()
    assert factory.online == []
