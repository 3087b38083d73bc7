"""Logic's live sessions registry: reports per link, local sources, online devices and their
listeners, the plugins' device status API, and what reports are refused."""

from __future__ import annotations

import pytest

from peek_platform.identity.live_sessions import (
    LIVE_SESSIONS_REPORT_FILT,
    LiveSession,
    LiveSessionRegistry,
    PluginDeviceStatus,
    SessionReportRejected,
    parseReport,
    reportDocument,
)
from peek_platform.services import FIELD, OFFICE
from peek_plugin_base.logic.DeviceStatusApiABC import DeviceStatusApiABC
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope


def session(user: str, deviceId: str | None, links: int = 1, lastSeen: float = 100.0):
    """A field session of ``user`` on ``deviceId``."""
    return LiveSession(user, f"local:{user}", "field", deviceId, 10.0, lastSeen, links)


def envelope(document: object) -> PayloadEnvelope:
    """A report as it arrives over a link."""
    msg = Payload(filt=dict(LIVE_SESSIONS_REPORT_FILT), tuples=[document]).toVortexMsg()
    return PayloadEnvelope.fromVortexMsg(msg)


def test_reports_replace_per_link_and_site_and_a_dropped_link_is_forgotten():
    """Each report replaces what its link said of its site; forgetting a link drops only its
    sessions; local sources are always listed; sessions come earliest login first."""
    registry = LiveSessionRegistry()
    admin = LiveSession("admin", "recovery:admin", "admin", None, 5.0, 50.0, 0)
    registry.addLocalSessions(lambda: [admin])
    registry.replace("field-1", "field", [session("ann", "d1")])
    registry.replace("field-2", "field", [session("bob", "d2")])
    registry.replace("field-1", "field", [session("cy", "d3")])
    assert [s.userName for s in registry.sessions()] == ["admin", "cy", "bob"]
    registry.forget("field-1")
    assert [s.userName for s in registry.sessions()] == ["admin", "bob"]


def test_online_devices_and_their_listeners():
    """A device is online while a session of it holds a link; listeners hear each change
    once, and a device losing its last session is reported gone with its last seen."""
    registry = LiveSessionRegistry()
    events: list[tuple[str, bool]] = []
    gone: list[dict[str, float]] = []
    registry.addDeviceStatusListener(lambda *event: events.append(event))
    registry.addDevicesGoneListener(gone.append)
    registry.replace("field-1", "field", [session("ann", "d1"), session("bob", "d2", links=0)])
    assert registry.onlineDeviceIds() == {"d1"}
    assert registry.isDeviceOnline("d1") and not registry.isDeviceOnline("d2")
    assert registry.lastSeen("d2") == 100.0
    registry.replace("field-1", "field", [session("ann", "d1", lastSeen=120.0)])
    assert events == [("d1", True)]
    assert gone == [{"d2": 100.0}]
    registry.forget("field-1")
    assert events == [("d1", True), ("d1", False)]
    assert gone[-1] == {"d1": 120.0}


def test_a_failing_listener_does_not_stop_the_others():
    """A listener that raises is logged; the next one still hears the change."""
    registry = LiveSessionRegistry()
    heard = []

    def broken(deviceId, online):
        raise RuntimeError("plugin bug")

    registry.addDeviceStatusListener(broken)
    registry.addDeviceStatusListener(lambda *event: heard.append(event))
    registry.replace("field-1", "field", [session("ann", "d1")])
    assert heard == [("d1", True)]


def test_plugin_view_releases_its_listeners():
    """A plugin's view answers like the registry; release() removes the listeners it added
    (what the platform does when the plugin unloads), and the remover works once."""
    registry = LiveSessionRegistry()
    api = PluginDeviceStatus(registry)
    assert isinstance(api, DeviceStatusApiABC)
    heard = []
    remove = api.addDeviceStatusListener(lambda *event: heard.append(event))
    registry.replace("field-1", "field", [session("ann", "d1")])
    assert api.onlineDeviceIds() == {"d1"} and api.isDeviceOnline("d1")
    api.release()
    registry.forget("field-1")
    assert heard == [("d1", True)]
    remove()


def test_parse_report_accepts_a_sites_own_report():
    """A field report of the field site parses into its sessions."""
    document = reportDocument("field", [session("ann", "d1")])
    site, sessions = parseReport(envelope(document), FIELD.vortexName)
    assert (site, sessions) == ("field", [session("ann", "d1")])


@pytest.mark.parametrize(
    ("document", "sender", "error"),
    [
        ({"site": "field", "sessions": []}, OFFICE.vortexName, "serves no site 'field'"),
        ({"site": "admin", "sessions": []}, FIELD.vortexName, "serves no site 'admin'"),
        ({"site": "field", "sessions": {}}, FIELD.vortexName, "sessions must be a list"),
        ({"site": "field", "sessions": [{"userName": "ann"}]}, FIELD.vortexName, "userId"),
        (
            reportDocument("field", [session("ann", "d1")]) | {"sessions": [{"x": 1}]},
            FIELD.vortexName,
            "userName",
        ),
        (["not", "an", "object"], FIELD.vortexName, "expected one report object"),
    ],
)
def test_parse_report_refuses_malformed_or_foreign_reports(document, sender, error):
    """A report for a site its sender does not serve, or with a malformed session, is
    refused with the reason."""
    with pytest.raises(SessionReportRejected, match=error):
        parseReport(envelope(document), sender)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("since", "yesterday", "since must be a number"),
        ("links", True, "links must be a number"),
        ("lastSeen", -1, "lastSeen must be a finite number of at least 0"),
        ("deviceId", 12, "deviceId must be null or a text"),
    ],
)
def test_session_documents_are_checked_field_by_field(field, value, error):
    """Each session field is checked; the error names it."""
    document = session("ann", "d1").toDocument() | {field: value}
    with pytest.raises(SessionReportRejected, match=error):
        LiveSession.fromDocument(document, "field")
