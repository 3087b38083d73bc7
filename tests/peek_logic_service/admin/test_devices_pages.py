"""The admin Logged in and Devices API (``/api/live-sessions``, ``/api/devices``) on logic's
real device extension (store on SQLite, registry, unlinked vortex): listing, forced logout,
approve and revoke, validation, CSRF and the INFO log of every change."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from twisted.internet.defer import maybeDeferred

from peek_logic_service.admin.devices_pages import DevicesAdmin
from peek_platform.identity.device_extension import DeviceServiceExtension
from peek_platform.identity.devices import DeviceState
from peek_platform.identity.live_sessions import LiveSession
from peek_platform.services import LOGIC
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser, Response
from vortex.VortexFactory import VortexFactory

#: Epoch seconds the admin test clock and the reported sessions use.
NOW = 1_750_000_000.0


@pytest.fixture
def devices(sqlitePlatformDb, admin) -> Iterator[DeviceServiceExtension]:
    """Logic's device extension on a migrated SQLite schema, started on an unlinked vortex;
    store calls run synchronously."""
    storage = SimpleNamespace(platformDb=sqlitePlatformDb, inThread=maybeDeferred)
    extension = DeviceServiceExtension(
        storage, vortexFactory=lambda: VortexFactory(LOGIC.vortexName)
    )
    extension.startBeforePlugins(SimpleNamespace(reactor=admin.clock))
    yield extension
    extension.stopAfterPlugins(SimpleNamespace(reactor=admin.clock))


@pytest.fixture
def site(admin, devices):
    """The admin test site with the Logged in and Devices API."""
    admin.clock.advance(NOW)
    return admin.serveApi(DevicesAdmin(devices, now=admin.clock.seconds).resources(admin.auth))


def post(site, browser: InMemoryBrowser, path: str, body: object, *, token: bool = True):
    """POST a JSON body same-origin, with the session's CSRF token unless ``token`` is off."""
    headers = {"Origin": site.origin, "Content-Type": "application/json"}
    if token:
        headers["X-CSRF-Token"] = site.shellToken(browser)
    return browser.post(path, headers=headers, body=json.dumps(body).encode())


def answer(response: Response) -> object:
    """The JSON body of an answer."""
    return json.loads(response.body)


def enrol(devices: DeviceServiceExtension, user: str = "ann", policy: str = "auto") -> str:
    """Enrol a field device for ``user``; its id."""
    admission = devices.store.admit(
        None,
        site="field",
        userId=f"local:{user}",
        userName=user,
        description="Chromium",
        policy=policy,
    )
    return admission.deviceId


def reportField(devices, deviceId: str, links: int = 1, user: str = "ann") -> None:
    """Stand in for a field service's report of one live session on ``deviceId``."""
    session = LiveSession(user, f"local:{user}", "field", deviceId, NOW - 60, NOW - 5, links)
    devices.registry.replace("field-uuid", "field", [session])


def test_the_api_needs_a_session(site):
    """Without a login both collections answer 401."""
    browser = site.browser()
    assert browser.get("/api/live-sessions").code == 401
    assert browser.get("/api/devices").code == 401


def test_logged_in_lists_admin_and_reported_sessions(site, browser, devices):
    """GET /api/live-sessions lists the admin's own session (site admin, no device) and the
    sessions field reported (user, site, device, since, last seen, links)."""
    deviceId = enrol(devices)
    reportField(devices, deviceId)
    sessions = answer(browser.get("/api/live-sessions"))
    assert [(s["user"], s["site"], s["deviceId"]) for s in sessions] == [
        ("ann", "field", deviceId),
        ("admin", "admin", None),
    ]
    field = sessions[0]
    assert field["userId"] == "local:ann" and field["links"] == 1
    assert field["since"].startswith("2025-06-15T") and field["since"].endswith("+00:00")


def test_force_logout_ends_the_users_sessions_and_is_logged(site, browser, devices, caplog):
    """POST force-logout ends every admin session of the user (here the recovery admin's
    other browser), says how many services were told, and logs it with the acting admin."""
    other = site.browser()
    site.logIn(other)
    assert len(site.auth.sessions.sessions()) == 2
    with caplog.at_level(logging.INFO):
        response = post(
            site, browser, "/api/live-sessions/force-logout", {"userId": "recovery:admin"}
        )
    assert response.code == 200, response.text
    document = answer(response)
    assert (document["endedHere"], document["servicesTold"]) == (2, 0)
    assert site.auth.sessions.sessions() == []
    assert other.get("/api/live-sessions").code == 401
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(
        "forced logout of recovery:admin" in m and "(by recovery:admin on the admin site)" in m
        for m in logged
    ), logged


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "userId is missing"),
        ({"userId": 7}, "userId must be a string"),
        ({"userId": ""}, "userId must not be empty"),
    ],
)
def test_force_logout_refuses_a_bad_body_naming_the_field(site, browser, body, error):
    """A missing, mistyped or empty userId is a 400 naming the field; nothing ends."""
    response = post(site, browser, "/api/live-sessions/force-logout", body)
    assert response.code == 400
    assert answer(response) == {"error": error, "field": "userId"}
    assert len(site.auth.sessions.sessions()) == 1


def test_changes_need_the_csrf_token(site, browser, devices):
    """A POST without the session's CSRF token is refused (403) and changes nothing."""
    deviceId = enrol(devices)
    response = post(site, browser, "/api/devices/revoke", {"deviceId": deviceId}, token=False)
    assert response.code == 403
    assert devices.store.get(deviceId).state == DeviceState.APPROVED


def test_devices_lists_state_user_and_online(site, browser, devices):
    """GET /api/devices lists each device with its site, state, last user and whether it is
    online (a reported session holding a link), its last seen at least the live one."""
    online = enrol(devices)
    pending = enrol(devices, user="bob", policy="approval")
    reportField(devices, online)
    listed = {d["deviceId"]: d for d in answer(browser.get("/api/devices"))}
    assert set(listed) == {online, pending}
    assert (listed[online]["online"], listed[online]["state"], listed[online]["user"]) == (
        True,
        "approved",
        "ann",
    )
    assert (listed[pending]["online"], listed[pending]["state"]) == (False, "pending")
    assert listed[online]["site"] == "field"
    assert listed[online]["description"] == "Chromium"


def test_approve_and_revoke_change_the_device_and_are_logged(site, browser, devices, caplog):
    """Approve lets a pending device in, revoke refuses it; each answer carries the device
    and each change is logged at INFO with the acting admin."""
    deviceId = enrol(devices, policy="approval")
    with caplog.at_level(logging.INFO):
        approved = post(site, browser, "/api/devices/approve", {"deviceId": deviceId})
        assert approved.code == 200, approved.text
        assert answer(approved)["device"]["state"] == "approved"
        revoked = post(site, browser, "/api/devices/revoke", {"deviceId": deviceId})
    assert answer(revoked)["device"]["state"] == "revoked"
    assert devices.store.get(deviceId).state == DeviceState.REVOKED
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(f"field device {deviceId} (last used by ann) approved" in m for m in logged)
    assert any(
        f"device {deviceId}" in m and "revoked" in m and "(by recovery:admin" in m for m in logged
    ), logged


def test_unknown_and_bad_device_ids_are_refused(site, browser):
    """An unknown device is a 404, a missing one a 400, both naming deviceId."""
    unknown = post(site, browser, "/api/devices/revoke", {"deviceId": "nope"})
    assert unknown.code == 404
    assert answer(unknown) == {"error": "no device has the id 'nope'", "field": "deviceId"}
    missing = post(site, browser, "/api/devices/approve", {"device": "x"})
    assert (missing.code, answer(missing)["field"]) == (400, "deviceId")
