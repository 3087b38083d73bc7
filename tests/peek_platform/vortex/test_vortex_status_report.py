"""Tests for peek_platform/vortex/status_report.py (Clock-driven, no sockets)."""

from __future__ import annotations

from twisted.internet import defer, task

from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.vortex.status_report import LoaderStatusWatcher, ServiceIdentity, StatusReporter
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


def test_watcher_reports_first_poll_and_only_changes():
    """The watcher calls back on its first poll and then only when a status changes."""
    clock, current, seen = task.Clock(), statuses(), []
    watcher = LoaderStatusWatcher(lambda: current, seen.append, clock=clock, interval=0.5)
    watcher.start()
    clock.advance(0.5)
    clock.advance(0.5)
    assert [[p.state for p in plugins] for plugins in seen] == [["started"]]
    current[:] = statuses(PluginState.FAILED)
    clock.advance(0.5)
    assert [p.state for p in seen[-1]] == ["failed"] and len(seen) == 2
    watcher.stop()


def test_reporter_sends_status_on_link_up_and_on_change():
    """A report goes to logic when the link comes up and when a plugin changes state."""
    clock, factory, current = task.Clock(), FakeFactory(), statuses()
    identity = ServiceIdentity("agent", "peek-agent-service", "uuid-1", host="h", pid=7)
    reporter = StatusReporter(factory, identity, lambda: current, clock=clock, interval=0.5)
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
    clock.advance(0.5)
    assert len(factory.sent) == 2
    reporter.stop()
    assert factory.online == []
