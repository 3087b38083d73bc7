"""Device enrolment at login on a field site: the device cookie, the approval gate and the
waiting page, revocation, and the end-sessions orders logic pushes.

The site checks devices against a real ``DeviceStore`` on SQLite (standing in for logic's
device RPCs, which ``test_device_rpc.py`` covers over a real service link).
"""

from __future__ import annotations

import json
import re

import pytest
from twisted.internet.defer import fail, maybeDeferred, succeed

from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.devices import DeviceGate, DeviceState, DeviceStore
from peek_platform.identity.principal import LoginRefused, Principal
from peek_platform.services import FIELD
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser
from peek_platform.web.app_site import buildAppSiteRoot
from peek_platform.web.listening import newSite
from peek_platform.web.site_auth import DEVICE_COOKIE_MAX_AGE_SECONDS, SiteAuth

HOST = "peek.test:8000"
ORIGIN = f"http://{HOST}"
PAGE = {"Accept": "text/html"}
PASSWORDS = {"ann": "ann-password-1", "bob": "bob-password-1"}
DEVICE_COOKIE = "peekFieldDevice"


def check(user: str, password: str, site: str):
    """A login check knowing ann and bob."""
    if PASSWORDS.get(user) == password:
        return succeed(Principal(f"local:{user}", user, frozenset(), frozenset()))
    return fail(LoginRefused("wrong user name or password"))


@pytest.fixture
def devices(sqlitePlatformDb):
    """A device store on a migrated SQLite platform schema."""
    return DeviceStore(sqlitePlatformDb.dbEngine)


def storeGate(store: DeviceStore, policy: str) -> DeviceGate:
    """The field site's device gate answered by ``store`` directly, as logic would."""

    def admit(token, principal, description):
        return maybeDeferred(
            store.admit,
            token,
            site="field",
            userId=principal.userId,
            userName=principal.userName,
            description=description,
            policy=policy,
        )

    return DeviceGate(admit=admit, states=lambda ids: maybeDeferred(store.states, ids))


class DeviceSite:
    """A field site whose logins enrol devices under ``policy``."""

    def __init__(self, clock, fakeVortex, appDir, store: DeviceStore, policy: str) -> None:
        plugins = SiteResources("field")
        plugins.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
        self.store = store
        self.auth = SiteAuth(
            "field", check, clock, idleSeconds=600, devices=storeGate(store, policy)
        )
        root = buildAppSiteRoot(
            plugins,
            "peek-field-service",
            statuses=list,
            pluginTitle=lambda name: name,
            vortexFactory=lambda: fakeVortex,
            auth=self.auth,
            title="Peek Field",
        )
        self.site = newSite(root, clock)

    def browser(self, **kwargs) -> InMemoryBrowser:
        """A browser without cookies, as Chromium."""
        return InMemoryBrowser(self.site, host=HOST, **kwargs)

    def logIn(self, browser: InMemoryBrowser, user: str = "ann", nextPath: str = "/"):
        """Submit the login form like a browser; the answer to the post."""
        page = browser.get("/login")
        token = re.search(r'name="csrfToken" value="([^"]+)"', page.text).group(1)
        form = {
            "username": user,
            "password": PASSWORDS[user],
            "csrfToken": token,
            "next": nextPath,
        }
        headers = {"Origin": ORIGIN, "User-Agent": "Chromium/140 (test)"}
        return browser.post("/login", form=form, headers=headers)

    def session(self):
        """The only live session."""
        [session] = self.auth.sessions.sessions()
        return session


@pytest.fixture
def autoSite(clock, fakeVortex, appDir, devices) -> DeviceSite:
    """A field site enrolling devices under ``auto``."""
    return DeviceSite(clock, fakeVortex, appDir, devices, "auto")


@pytest.fixture
def approvalSite(clock, fakeVortex, appDir, devices) -> DeviceSite:
    """A field site enrolling devices under ``approval``."""
    return DeviceSite(clock, fakeVortex, appDir, devices, "approval")


def test_first_login_enrols_the_browser_with_a_long_lived_httponly_cookie(autoSite):
    """The first login sets an HttpOnly, SameSite=Strict device cookie living 400 days and
    enrols an approved device recording user and user agent; the session carries the
    device id and the site works."""
    browser = autoSite.browser()
    response = autoSite.logIn(browser)
    assert (response.code, response.header("location")) == (303, "/")
    morsel = response.cookie(DEVICE_COOKIE)[DEVICE_COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "strict"
    assert morsel["max-age"] == str(DEVICE_COOKIE_MAX_AGE_SECONDS)
    assert not morsel["secure"]
    [device] = autoSite.store.listDevices()
    assert autoSite.session().deviceId == device.deviceId
    assert (device.state, device.lastUserName, device.description) == (
        "approved",
        "ann",
        "Chromium/140 (test)",
    )
    assert autoSite.store.states([device.deviceId]) == {device.deviceId: DeviceState.APPROVED}
    assert browser.get("/peek_plugin_a/").code == 200


def test_the_same_browser_is_the_same_device_at_every_login(autoSite):
    """A second login (another user, same browser) keeps the device and renews its cookie;
    another browser becomes another device."""
    browser = autoSite.browser()
    autoSite.logIn(browser)
    first = autoSite.session().deviceId
    token = browser.cookies[DEVICE_COOKIE]
    autoSite.auth.sessions.removeUser("local:ann")
    again = autoSite.logIn(browser, user="bob")
    assert again.cookie(DEVICE_COOKIE)[DEVICE_COOKIE].value == token
    assert autoSite.session().deviceId == first
    assert autoSite.store.get(first).lastUserName == "bob"
    autoSite.logIn(autoSite.browser())
    assert len(autoSite.store.listDevices()) == 2


def test_device_cookie_is_secure_over_tls(autoSite):
    """Over TLS the device cookie is marked Secure."""
    response = autoSite.logIn(autoSite.browser(secure=True))
    assert response.cookie(DEVICE_COOKIE)[DEVICE_COOKIE]["secure"]


def test_a_pending_device_sees_only_the_waiting_page_until_approved(approvalSite):
    """Under approval a new device logs in to the waiting page: pages go there, the APIs
    and /vortexws answer 403, /device/status says pending; once an administrator approves
    the device the status says approved and the site works."""
    browser = approvalSite.browser()
    response = approvalSite.logIn(browser, nextPath="/peek_plugin_a/")
    assert response.code == 303
    assert response.header("location") == "/device/waiting?next=/peek_plugin_a/"
    session = approvalSite.session()
    assert session.awaitingApproval
    waiting = browser.get("/device/waiting?next=/peek_plugin_a/", headers=PAGE)
    assert waiting.code == 200
    assert f'<code id="device-id">{session.deviceId}</code>' in waiting.text
    assert 'data-next="/peek_plugin_a/"' in waiting.text
    assert 'action="/logout"' in waiting.text
    assert "/static/device-waiting.mjs" in waiting.text
    shell = browser.get("/", headers=PAGE)
    assert (shell.code, shell.header("location")) == (303, "/device/waiting")
    app = browser.get("/peek_plugin_a/", headers=PAGE)
    assert app.header("location") == "/device/waiting?next=/peek_plugin_a/"
    for path in ("/vortexws", "/api/session", "/peek_plugin_a/data.json"):
        refused = browser.get(path)
        assert refused.code == 403, path
        assert "waiting for an administrator's approval" in refused.text
    status = json.loads(browser.get("/device/status").text)
    assert status == {"deviceId": session.deviceId, "state": "pending"}

    approvalSite.store.setState(session.deviceId, DeviceState.APPROVED)
    status = json.loads(browser.get("/device/status").text)
    assert status == {"deviceId": session.deviceId, "state": "approved"}
    assert not session.awaitingApproval
    assert browser.get("/peek_plugin_a/").code == 200
    assert browser.get("/device/waiting?next=/peek_plugin_a/").header("location") == (
        "/peek_plugin_a/"
    )


def test_a_pending_device_may_log_out(approvalSite):
    """The waiting page's logout works (same origin, the session's token)."""
    browser = approvalSite.browser()
    approvalSite.logIn(browser)
    token = approvalSite.session().csrfToken
    response = browser.post("/logout", form={"csrfToken": token}, headers={"Origin": ORIGIN})
    assert (response.code, response.header("location")) == (303, "/login")
    assert approvalSite.auth.sessions.sessions() == []


def test_revalidation_approves_waiting_sessions_and_ends_revoked_devices(autoSite):
    """The periodic re-check lets sessions of approved devices in and ends the sessions of
    revoked (or no longer enrolled) devices, telling the end listeners."""
    ended = []
    autoSite.auth.addSessionEndListener(lambda session: ended.append(session.deviceId))
    browser = autoSite.browser()
    autoSite.logIn(browser)
    deviceId = autoSite.session().deviceId
    autoSite.auth.revalidateSessions()
    assert autoSite.auth.sessions.sessions() and not ended
    autoSite.store.setState(deviceId, DeviceState.REVOKED)
    autoSite.auth.revalidateSessions()
    assert autoSite.auth.sessions.sessions() == []
    assert ended == [deviceId]


def test_revoked_device_cannot_log_in_and_a_status_poll_ends_its_session(approvalSite):
    """A waiting device revoked meanwhile: its status poll says revoked and ends the
    session; its next login is refused with a clear message, and no session starts."""
    browser = approvalSite.browser()
    approvalSite.logIn(browser)
    deviceId = approvalSite.session().deviceId
    approvalSite.store.setState(deviceId, DeviceState.REVOKED)
    status = json.loads(browser.get("/device/status").text)
    assert status == {"deviceId": deviceId, "state": "revoked"}
    assert approvalSite.auth.sessions.sessions() == []
    refused = approvalSite.logIn(browser)
    assert refused.code == 401
    assert "This device was revoked by an administrator" in refused.text
    assert approvalSite.auth.sessions.sessions() == []


def test_end_sessions_by_user_and_by_device(autoSite):
    """endSessions (what logic's orders call) ends exactly the named user's or device's
    sessions."""
    annBrowser, bobBrowser = autoSite.browser(), autoSite.browser()
    autoSite.logIn(annBrowser)
    autoSite.logIn(bobBrowser, user="bob")
    byUser = {s.user: s for s in autoSite.auth.sessions.sessions()}
    ended = autoSite.auth.endSessions(userIds=["local:ann"], reason="forced logout by test")
    assert [s.user for s in ended] == ["ann"]
    ended = autoSite.auth.endSessions(deviceIds=[byUser["bob"].deviceId], reason="revoked")
    assert [s.user for s in ended] == ["bob"]
    assert autoSite.auth.sessions.sessions() == []


def test_enrolment_policy_key_defaults_to_auto_and_refuses_other_values(tmp_path):
    """httpServer.field.deviceEnrolment is auto by default, accepts approval in any case,
    and any other value is a config error naming the key and the choices."""
    home = tmp_path / "field-home"
    home.mkdir()
    config = home / "config.json"
    config.write_text("{}")
    assert loadServiceConfig(FIELD, home)[FIELD.site("field").deviceEnrolmentKey] == "auto"
    config.write_text(json.dumps({"httpServer": {"field": {"deviceEnrolment": "Approval"}}}))
    assert loadServiceConfig(FIELD, home)["httpServer.field.deviceEnrolment"] == "approval"
    config.write_text(json.dumps({"httpServer": {"field": {"deviceEnrolment": "sometimes"}}}))
    with pytest.raises(
        ConfigError,
        match=r"httpServer\.field\.deviceEnrolment: 'sometimes' is not one of auto, approval",
    ):
        loadServiceConfig(FIELD, home)
