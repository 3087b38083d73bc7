"""Logic's device extension and a real field service linked to it over the data exchange:
device RPCs, the live sessions registry, and the end-sessions orders logic pushes."""

from __future__ import annotations

import pytest
from twisted.internet.defer import Deferred

from peek_platform.identity.device_extension import DeviceServiceExtension
from peek_platform.identity.device_rpc import (
    admitDeviceRpc,
    deviceGateThroughLogic,
    deviceStatesRpc,
)
from peek_platform.identity.devices import DeviceRevoked, DeviceState
from peek_platform.identity.principal import DirectoryUnavailable, Principal
from peek_platform.process.assembly import siteTrees
from peek_platform.services import AGENT, FIELD, LOGIC
from peek_platform.storage.extension import StorageServiceExtension
from peek_platform.vortex.extension import (
    DataExchangeClientExtension,
    DataExchangeServerExtension,
)
from peek_platform.web.app_site import AppSiteExtension, appServiceComposition
from peek_plugin_base.testing.ReactorWait import waitForDeferred

SECRET = "a-test-secret-of-more-than-16-chars"
ANN = Principal("local:ann", "ann", frozenset(), frozenset())
BOB = Principal("local:bob", "bob", frozenset(), frozenset())


def logicWithDevices(started) -> tuple[DataExchangeServerExtension, DeviceServiceExtension]:
    """A logic with data exchange, storage and devices on a free port."""
    vortex = DataExchangeServerExtension()
    storage = StorageServiceExtension()
    devices = DeviceServiceExtension(storage, vortexFactory=lambda: vortex.factory)
    started(LOGIC, [vortex, storage, devices], {"dataExchange": {"port": 0, "secret": SECRET}})
    return vortex, devices


def clientConfig(port: int) -> dict:
    """The link settings of a service linking to logic on ``port``."""
    return {"dataExchange": {"port": port, "secret": SECRET, "reconnectMaxSeconds": 0.1}}


def startField(
    started, port: int, policy: str = "auto"
) -> tuple[DataExchangeClientExtension, AppSiteExtension]:
    """Start the real field composition (link and field site on a free port, enrolling
    under ``policy``); its link to logic comes up once the reactor turns."""
    composition = appServiceComposition(FIELD, siteTrees(FIELD), platformHook=lambda *a: None)
    config = clientConfig(port)
    site = {"sitePort": 0, "bindAddress": "127.0.0.1", "deviceEnrolment": policy}
    config["httpServer"] = {"field": site}
    started(FIELD, composition.extensions, config)
    client = next(e for e in composition.extensions if isinstance(e, DataExchangeClientExtension))
    site = next(e for e in composition.extensions if isinstance(e, AppSiteExtension))
    assert site.auth is not None
    return client, site


@pytest.fixture
def linked(started, peekSpin):
    """Logic with devices, and a field service linked to it."""
    vortex, devices = logicWithDevices(started)
    client, site = startField(started, vortex.listeningPort.getHost().port)
    peekSpin(lambda: client.factory.isVortexNameConnected(LOGIC.vortexName))
    return vortex, devices, site


def test_field_enrols_and_rechecks_devices_through_logic(linked):
    """Field's device gate asks logic: a new device and its token, the same device again,
    its state, and a refusal once it is revoked."""
    _, devices, site = linked
    gate = site.auth.devices
    first = waitForDeferred(gate.admit(None, ANN, "Chromium"))
    assert (first.state, bool(first.newToken)) == (DeviceState.APPROVED, True)
    again = waitForDeferred(gate.admit(first.newToken, BOB, "Chromium"))
    assert (again.deviceId, again.newToken) == (first.deviceId, None)
    assert devices.store.get(first.deviceId).lastUserName == "bob"
    states = waitForDeferred(gate.states([first.deviceId, "unknown-device"]))
    assert states == {first.deviceId: DeviceState.APPROVED}
    devices.store.setState(first.deviceId, DeviceState.REVOKED)
    with pytest.raises(DeviceRevoked, match="revoked by an administrator"):
        waitForDeferred(gate.admit(first.newToken, ANN, "Chromium"))


def test_only_field_and_office_may_enrol_devices(started, peekSpin):
    """An agent calling the device RPC is refused; its gate reports logic as unreachable."""
    vortex, _ = logicWithDevices(started)
    agent = DataExchangeClientExtension()
    started(AGENT, [agent], clientConfig(vortex.listeningPort.getHost().port))
    peekSpin(lambda: agent.factory.isVortexNameConnected(LOGIC.vortexName))
    gate = deviceGateThroughLogic(
        admitDeviceRpc(), deviceStatesRpc(), lambda: agent.factory, site="field", policy="auto"
    )
    with pytest.raises(DirectoryUnavailable, match="cannot be reached"):
        waitForDeferred(gate.admit(None, ANN, "Chromium"))


def test_field_reports_sessions_and_logic_forgets_them_when_the_link_drops(linked, peekSpin):
    """Field reports each login to logic (user, site, device, links); logic forgets them when
    the link drops and records the device's last seen; the field re-reports on reconnect."""
    vortex, devices, site = linked
    events: list[tuple[str, bool]] = []
    devices.registry.addDeviceStatusListener(
        lambda deviceId, online: events.append((deviceId, online))
    )
    admission = waitForDeferred(site.auth.devices.admit(None, ANN, "Chromium"))
    site.auth.linksOf = lambda session: ["127.0.0.1:5001"]
    session = site.auth.sessions.create(ANN, deviceId=admission.deviceId)
    peekSpin(lambda: devices.registry.sessions())
    [live] = devices.registry.sessions()
    assert (live.userName, live.userId, live.site, live.deviceId, live.links) == (
        "ann",
        "local:ann",
        "field",
        admission.deviceId,
        1,
    )
    assert live.since == session.createdAt
    assert devices.registry.onlineDeviceIds() == {admission.deviceId}
    assert events == [(admission.deviceId, True)]
    before = devices.store.get(admission.deviceId).lastSeen

    for info in vortex.factory.remoteVortexes():
        info.connection.close("test drops the link")
    peekSpin(lambda: (admission.deviceId, False) in events)
    assert devices.registry.onlineDeviceIds() == set()
    peekSpin(lambda: devices.store.get(admission.deviceId).lastSeen > before)
    peekSpin(lambda: devices.registry.isDeviceOnline(admission.deviceId))
    assert events[-1] == (admission.deviceId, True)


def test_a_reconnecting_field_rechecks_its_sessions_at_once(linked, peekSpin):
    """A device revoked while field was cut off loses its session as soon as field links
    again, without waiting for the periodic re-check."""
    vortex, devices, site = linked
    admission = waitForDeferred(site.auth.devices.admit(None, ANN, "Chromium"))
    site.auth.sessions.create(ANN, deviceId=admission.deviceId)
    devices.store.setState(admission.deviceId, DeviceState.REVOKED)
    assert site.auth.sessions.sessions()
    for info in vortex.factory.remoteVortexes():
        info.connection.close("test drops the link")
    peekSpin(lambda: not site.auth.sessions.sessions())


def test_logic_pushes_forced_logouts_and_revocations(linked, peekSpin):
    """forceLogout ends the user's field sessions at once; revoking a device ends its."""
    _, devices, site = linked
    annDevice = waitForDeferred(site.auth.devices.admit(None, ANN, "Chromium"))
    bobDevice = waitForDeferred(site.auth.devices.admit(None, BOB, "Firefox"))
    site.auth.sessions.create(ANN, deviceId=annDevice.deviceId)
    site.auth.sessions.create(BOB, deviceId=bobDevice.deviceId)
    assert devices.forceLogout("local:ann", actor="recovery:admin") == 1
    peekSpin(lambda: [s.user for s in site.auth.sessions.sessions()] == ["bob"])
    revoked: Deferred = devices.setState(bobDevice.deviceId, DeviceState.REVOKED, "recovery:admin")
    assert waitForDeferred(revoked).state == DeviceState.REVOKED
    peekSpin(lambda: not site.auth.sessions.sessions())


def test_a_forced_logout_reaches_a_field_that_links_later(started, peekSpin):
    """A forced logout made while no field is linked is sent to the next field that links."""
    vortex, devices = logicWithDevices(started)
    assert devices.forceLogout("local:ann", actor="recovery:admin") == 0
    _, site = startField(started, vortex.listeningPort.getHost().port)
    site.auth.sessions.create(ANN)
    site.auth.sessions.create(BOB)
    peekSpin(lambda: [s.user for s in site.auth.sessions.sessions()] == ["bob"])


def test_the_field_sites_policy_decides_new_devices_state(started, peekSpin):
    """With httpServer.field.deviceEnrolment: approval a new device enrols pending."""
    vortex, devices = logicWithDevices(started)
    client, site = startField(started, vortex.listeningPort.getHost().port, policy="approval")
    peekSpin(lambda: client.factory.isVortexNameConnected(LOGIC.vortexName))
    admission = waitForDeferred(site.auth.devices.admit(None, ANN, "Chromium"))
    assert admission.state == DeviceState.PENDING
    assert devices.store.get(admission.deviceId).state == DeviceState.PENDING
