"""Tests for peek_logic_service/status/view.py."""

from __future__ import annotations

from datetime import UTC, datetime

from peek_logic_service.status.view import PlatformStatusView
from peek_platform.vortex.tuples import PluginStatusTuple, ServiceStatusTuple

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def status(key: str, uuid: str, host: str = "h1", state: str = "started") -> ServiceStatusTuple:
    return ServiceStatusTuple(
        serviceKey=key,
        vortexName=f"peek-{key}-service",
        vortexUuid=uuid,
        version="1",
        host=host,
        pid=10,
        startedAt=T0,
        plugins=[PluginStatusTuple(name="p", version="1", state=state, reason=None)],
    )


def test_snapshot_orders_logic_first_and_marks_links():
    """Logic comes first and is connected since it started; reporters carry their link."""
    view = PlatformStatusView(now=lambda: T0)
    view.serviceReported(status("agent", "a1"), T0, "127.0.0.1:5")
    view.updateLocal(status("logic", "l1"))
    snap = view.snapshot()
    assert [s.serviceKey for s in snap.services] == ["logic", "agent"]
    logic, agent = snap.services
    assert logic.connected and logic.connectedSince == T0
    assert agent.connected and agent.peerAddress == "127.0.0.1:5"


def test_link_down_marks_disconnected_and_notifies():
    """A dropped link keeps the service, marked disconnected with the time; subscribers hear."""
    view = PlatformStatusView(now=lambda: T0)
    heard = []
    unsubscribe = view.subscribe(heard.append)
    view.serviceReported(status("field", "f1"), T0, "x:1")
    view.linkDown("f1")
    [field] = heard[-1].services
    assert not field.connected and field.disconnectedAt == T0
    assert len(heard) == 2
    unsubscribe()
    view.linkDown("f1")
    view.serviceReported(status("field", "f1", state="failed"), T0, "x:1")
    assert len(heard) == 2


def test_restarted_service_replaces_its_disconnected_entry():
    """A service back with a new uuid from the same host replaces its old disconnected entry."""
    view = PlatformStatusView()
    view.serviceReported(status("field", "old"), T0, "x:1")
    view.serviceReported(status("field", "other-host", host="h2"), T0, "y:1")
    view.linkDown("old")
    view.serviceReported(status("field", "new"), T0, "x:2")
    assert sorted(s.vortexUuid for s in view.snapshot().services) == ["new", "other-host"]


def test_snapshot_is_a_copy():
    """Changing a snapshot does not change the view."""
    view = PlatformStatusView()
    view.serviceReported(status("agent", "a1"), T0, "x:1")
    snap = view.snapshot()
    snap.services[0].plugins[0].state = "failed"
    assert view.service("a1").plugins[0].state == "started"
