"""The login guard, device and user re-checks, and the checks under them that mutation
testing found unasserted (docs/dev/mutation-testing.rst): exact refusals, redirects and
their ``next``, origin matching, and the re-checks' effect on every live session.
"""

from __future__ import annotations

import json

import pytest
from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.defer import Deferred, fail, succeed
from twisted.web.resource import Resource
from twisted.web.static import Data
from twisted.web.test.requesthelper import DummyRequest

from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.devices import DeviceAdmission, DeviceGate, DeviceState
from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser, Response
from peek_platform.web.listening import newSite
from peek_platform.web.session_file import SessionFile, sessionFilePath
from peek_platform.web.site_auth import (
    SeeOther,
    SiteAuth,
    StatusResource,
    clientAddress,
    safeNextPath,
)
from peek_platform.web.site_root import WebSiteRoot

HOST = "peek.test:8000"
ORIGIN = f"http://{HOST}"
PAGE = {"Accept": "text/html"}


def person(name: str, *permissions: str) -> Principal:
    """A local user holding ``permissions`` and no roles."""
    return Principal(f"local:{name}", name, frozenset(), frozenset(permissions))


class FakeDevices:
    """A device gate answering from ``states``; it records what it was asked."""

    def __init__(self) -> None:
        self.states: dict[str, DeviceState] = {}
        self.asked: list[list[str]] = []
        self.admitted: list[tuple[str | None, str, str]] = []
        self.failing = False

    def gate(self) -> DeviceGate:
        return DeviceGate(admit=self.admit, states=self.statesOf)

    def admit(self, token, principal, description) -> Deferred[DeviceAdmission]:
        self.admitted.append((token, principal.userName, description))
        return succeed(DeviceAdmission("dev-new", DeviceState.APPROVED, None))

    def statesOf(self, deviceIds: list[str]) -> Deferred[dict[str, DeviceState]]:
        self.asked.append(list(deviceIds))
        if self.failing:
            return fail(DirectoryUnavailable("the logic service cannot be reached"))
        return succeed({d: self.states[d] for d in deviceIds if d in self.states})


def noLogins(user: str, password: str, site: str) -> Deferred[Principal]:
    """A login check refusing everyone (these tests start sessions directly)."""
    return fail(LoginRefused("wrong user name or password"))


class Api(Resource):
    """Answers every method with a small JSON document."""

    isLeaf = True

    def render(self, request) -> bytes:
        return b'{"api": true}'


class GuardedSite:
    """A site whose shell, ``/api``, ``/vortexws`` and ``/device`` pass ``auth.guard``."""

    def __init__(self, auth: SiteAuth, clock) -> None:
        self.auth = auth
        root = WebSiteRoot(
            SiteResources(auth.siteName),
            Data(b"the shell", "text/plain"),
            publicChildren={},
            protectedChildren={
                b"api": Api(),
                b"vortexws": Data(b"upgrade", "text/plain"),
                b"device": Data(b"the waiting page", "text/plain"),
            },
            guard=auth.guard,
        )
        self.site = newSite(root, clock)

    def browser(self, session=None) -> InMemoryBrowser:
        """A browser holding ``session``'s cookie (or none)."""
        browser = InMemoryBrowser(self.site, host=HOST)
        if session is not None:
            browser.cookies[self.auth.sessionCookie.decode()] = session.sessionId
        return browser


@pytest.fixture
def guarded(clock) -> GuardedSite:
    """A field site without devices."""
    return GuardedSite(SiteAuth("field", noLogins, clock, idleSeconds=600), clock)


def errorOf(response: Response) -> str:
    """The ``error`` of a JSON refusal."""
    assert response.header("content-type") == "application/json"
    assert response.header("cache-control") == "no-store"
    return json.loads(response.body)["error"]


# ---- the guard -----------------------------------------------------------------------


def test_without_a_session_only_page_requests_are_sent_to_login(guarded):
    """Page requests (``GET``/``HEAD`` accepting HTML) go to ``/login``; the same request for
    ``/api`` or ``/vortexws`` is a 401 telling where to log in; a path with its own answer
    for requests without a session gets that answer."""
    browser = guarded.browser()
    for method in ("GET", "HEAD"):
        page = browser.request(method, "/", headers=PAGE)
        assert (page.code, page.header("location")) == (303, "/login"), method
    for path in ("/api", "/vortexws"):
        refused = browser.get(path, headers=PAGE)
        assert refused.code == 401, path
        assert errorOf(refused) == "log in at /login first"
    guarded.auth.answerUnauthenticated(b"vortexws", Data(b"closed: log in", "text/plain"))
    assert browser.get("/vortexws", headers=PAGE).body == b"closed: log in"


def test_the_login_redirect_returns_to_any_requested_path(guarded):
    """``next`` carries the requested path and query percent-encoded, a byte that is not
    ASCII as a replacement character; ``/`` needs no ``next``."""
    redirect = guarded.browser().get("/peek_plugin_a/a\x80b?x=1", headers=PAGE)
    assert redirect.header("location") == "/login?next=/peek_plugin_a/a%EF%BF%BDb%3Fx%3D1"


def test_a_state_change_needs_same_origin_and_the_sessions_token(guarded):
    """A POST from another origin is refused naming the origin, even with the right token;
    a same-origin POST without the token is refused saying where the token goes; a GET
    from another origin is let through except the websocket upgrade."""
    session = guarded.auth.sessions.create(person("ann"))
    browser = guarded.browser(session)
    evil = {"Origin": "http://evil.test"}
    token = {"X-CSRF-Token": session.csrfToken}
    refused = browser.post("/api", headers={**evil, **token})
    assert refused.code == 403
    assert errorOf(refused) == (
        "cross-site request refused: Origin 'http://evil.test' is not this site"
    )
    assert browser.get("/api", headers=evil).code == 200
    assert browser.get("/vortexws", headers=evil).code == 403
    noToken = browser.post("/api", headers={"Origin": ORIGIN})
    assert noToken.code == 403
    assert errorOf(noToken) == (
        "missing or wrong CSRF token: send the session's token in the X-CSRF-Token "
        "header or the csrfToken form field"
    )
    assert browser.post("/api", headers={"Origin": ORIGIN, **token}).code == 200


def test_a_waiting_device_gets_403_for_every_non_page_request(clock):
    """A session whose device waits for approval is refused ``/vortexws`` with 403 even when
    the request accepts HTML, and pages are sent to the waiting page."""
    site = GuardedSite(SiteAuth("field", noLogins, clock, idleSeconds=600), clock)
    session = site.auth.sessions.create(person("ann"), deviceId="d1", awaitingApproval=True)
    browser = site.browser(session)
    refused = browser.get("/vortexws", headers=PAGE)
    assert refused.code == 403
    assert errorOf(refused) == "this device is waiting for an administrator's approval"
    assert browser.get("/", headers=PAGE).header("location") == "/device/waiting"
    assert browser.get("/device").code == 200


def test_session_lookups_without_touch_leave_the_idle_timer(guarded, clock):
    """``sessionFor(touch=False)`` finds the session without restarting its idle timer."""
    session = guarded.auth.sessions.create(person("ann"))
    browser = guarded.browser(session)
    clock.advance(500)
    request = DummyRequest([b""])
    request.getCookie = lambda name: session.sessionId.encode()
    assert guarded.auth.sessionFor(request, touch=False) is session
    clock.advance(100)
    assert browser.get("/", headers=PAGE).code == 303


# ---- redirects, refusals and paths -------------------------------------------------------


def rendered(resource) -> tuple[DummyRequest, bytes]:
    """Render ``resource`` for a GET; the request and the body."""
    request = DummyRequest([b""])
    return request, resource.render(request)


def test_see_other_sends_an_uncached_html_link_with_escaped_location():
    """``SeeOther`` answers 303 with the location, as uncached HTML whose link escapes
    ``&`` and ``"``."""
    request, body = rendered(SeeOther('/a?x=1&y="2"'))
    assert request.responseCode == 303
    headers = request.responseHeaders
    assert headers.getRawHeaders(b"location") == [b'/a?x=1&y="2"']
    assert headers.getRawHeaders(b"content-type") == [b"text/html; charset=utf-8"]
    assert headers.getRawHeaders(b"cache-control") == [b"no-store"]
    assert body == (
        b'<!doctype html><title>See other</title><a href="/a?x=1&amp;y=&quot;2&quot;">Continue</a>'
    )


def test_status_resource_answers_uncached_json():
    """``StatusResource`` answers its code and ``{"error": message}`` as uncached JSON."""
    request, body = rendered(StatusResource(451, "gone away"))
    assert request.responseCode == 451
    assert request.responseHeaders.getRawHeaders(b"content-type") == [b"application/json"]
    assert request.responseHeaders.getRawHeaders(b"cache-control") == [b"no-store"]
    assert json.loads(body) == {"error": "gone away"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/peek_plugin_a/?x=1!", "/peek_plugin_a/?x=1!"),
        ("https://evil.test/", "/"),
        ("//evil.test/x", "/"),
        ("/\\evil.test/x", "/"),
        ("/a b", "/"),
        ("/a\x7f", "/"),
        ("/login", "/"),
        ("/logout", "/"),
        ("/login?next=/x", "/"),
        ("/login?a=1?b=2", "/"),
        ("/login/other", "/login/other"),
    ],
)
def test_safe_next_path_keeps_only_local_paths_other_than_login(value, expected):
    """Paths on this site are kept (``!`` included); other sites, protocol-relative and
    backslash paths, controls and spaces, and the login and logout pages become ``/``."""
    assert safeNextPath(value) == expected


def test_client_address_is_the_peer_host_without_port():
    """Throttling keys on the peer's host, not its port; an address without a host (a UNIX
    socket) is used whole."""
    request = DummyRequest([b""])
    request.client = IPv4Address("TCP", "10.0.0.5", 40001)
    assert clientAddress(request) == "10.0.0.5"
    request.client = UNIXAddress(b"/run/peek.sock")
    assert clientAddress(request) == str(request.client)


# ---- logging in ------------------------------------------------------------------------


def test_a_user_with_the_required_permission_logs_in_and_the_check_names_the_site(clock):
    """On a site needing ``admin`` a user holding it is let in; the check is asked for this
    site."""
    asked = []

    def check(user, password, site):
        asked.append(site)
        return succeed(person(user, "admin"))

    auth = SiteAuth("admin", check, clock, idleSeconds=60, requiredPermission="admin")
    outcome = []
    auth.login("ann", "pw").addBoth(outcome.append)
    assert outcome == [person("ann", "admin")]
    assert asked == ["admin"]


def test_the_device_is_described_by_its_user_agent_read_as_utf8(clock):
    """The user agent (replacement characters for bytes that are not UTF-8) describes the
    device; a browser that sends none gives an empty description."""
    devices = FakeDevices()
    auth = SiteAuth("field", noLogins, clock, idleSeconds=600, devices=devices.gate())
    for agent in (b"Chromium/140 \xff", None):
        request = DummyRequest([b""])
        if agent is not None:
            request.requestHeaders.setRawHeaders(b"user-agent", [agent])
        request.getCookie = lambda name: None
        auth.admitDevice(request, person("ann"))
    assert devices.admitted == [(None, "ann", "Chromium/140 \ufffd"), (None, "ann", "")]


# ---- re-checks of live sessions ---------------------------------------------------------


def test_device_states_apply_to_each_session_of_the_checked_devices_only(clock):
    """Sessions without a device and of devices not asked about stay; an unknown device's
    and a revoked device's sessions end; an approved device's waiting session is let in,
    a pending one keeps waiting."""
    devices = FakeDevices()
    auth = SiteAuth("field", noLogins, clock, idleSeconds=600, devices=devices.gate())
    create = auth.sessions.create
    plain = create(person("ann"))
    unknown = create(person("bob"), deviceId="gone")
    revoked = create(person("cy"), deviceId="bad")
    waiting = create(person("di"), deviceId="ok", awaitingApproval=True)
    pending = create(person("ed"), deviceId="later", awaitingApproval=True)
    approved = create(person("fay"), deviceId="fine")
    devices.states = {
        "bad": DeviceState.REVOKED,
        "ok": DeviceState.APPROVED,
        "later": DeviceState.PENDING,
        "fine": DeviceState.APPROVED,
    }
    assert auth.refreshDevice(approved).result == DeviceState.APPROVED
    assert auth.sessions.sessions() == [plain, unknown, revoked, waiting, pending, approved]
    assert pending.awaitingApproval and waiting.awaitingApproval

    result = auth.revalidateSessions()
    assert result is not None and result.result is None
    assert devices.asked[-1] == ["bad", "fine", "gone", "later", "ok"]
    assert auth.sessions.sessions() == [plain, waiting, pending, approved]
    assert waiting.awaitingApproval is False
    assert pending.awaitingApproval is True
    assert approved.awaitingApproval is False


def test_a_device_refresh_asks_nothing_without_a_device(clock):
    """``refreshDevice`` answers None without asking when the session has no device or the
    site enrols none."""
    devices = FakeDevices()
    withDevices = SiteAuth("field", noLogins, clock, idleSeconds=600, devices=devices.gate())
    assert withDevices.refreshDevice(withDevices.sessions.create(person("ann"))).result is None
    assert devices.asked == []
    without = SiteAuth("office", noLogins, clock, idleSeconds=600)
    session = without.sessions.create(person("ann"), deviceId="d1")
    assert without.refreshDevice(session).result is None


def test_rechecks_that_cannot_be_answered_keep_every_session(clock):
    """When logic cannot answer the user or device re-check, the re-check still completes
    (None) and every session stays."""
    devices = FakeDevices()
    devices.failing = True
    auth = SiteAuth(
        "field",
        noLogins,
        clock,
        idleSeconds=600,
        devices=devices.gate(),
        revalidate=lambda userIds: fail(DirectoryUnavailable("no logic")),
    )
    sessions = [auth.sessions.create(person("ann"), deviceId="d1")]
    result = auth.revalidateSessions()
    assert result is not None and result.result is None
    assert auth.sessions.sessions() == sessions
    assert SiteAuth("field", noLogins, clock, idleSeconds=600).revalidateSessions() is None


def test_user_recheck_updates_each_kept_user_and_ends_the_others(clock):
    """Users answered unchanged stay as they are, users answered with new roles get them
    (keeping id and name), users left out lose their sessions, in any order."""
    now = {
        "local:ann": None,
        "local:cy": Principal("local:cy", "other-name", frozenset({"crew"}), frozenset({"p"})),
    }
    auth = SiteAuth("field", noLogins, clock, idleSeconds=600, revalidate=lambda ids: succeed(now))
    ann = auth.sessions.create(person("ann"))
    auth.sessions.create(person("bob"))
    cy = auth.sessions.create(person("cy"))
    assert auth.revalidateSessions().result is None
    assert auth.sessions.sessions() == [ann, cy]
    assert ann.principal == person("ann")
    assert cy.principal == Principal("local:cy", "cy", frozenset({"crew"}), frozenset({"p"}))


def test_rechecked_users_and_approved_devices_are_saved_for_a_restart(tmp_path, clock):
    """What a re-check changes (a user's permissions, a device's approval) is written at the
    next flush, so a restarted site's sessions have it."""
    path = sessionFilePath(tmp_path, "field")
    devices = FakeDevices()
    devices.states = {"d1": DeviceState.APPROVED}
    now = {"local:ann": person("ann", "x.edit"), "local:bob": None}

    def restartedAuth() -> SiteAuth:
        return SiteAuth(
            "field",
            noLogins,
            clock,
            idleSeconds=600,
            devices=devices.gate(),
            revalidate=lambda ids: succeed(now),
            sessionFile=SessionFile(path),
        )

    auth = restartedAuth()
    auth.sessions.create(person("ann"))
    auth.sessions.create(person("bob"), deviceId="d1", awaitingApproval=True)
    auth.revalidateSessions()
    auth.stopExpiryChecks()
    auth.sessions.close()

    ann, bob = restartedAuth().sessions.sessions()
    assert (ann.principal, bob.principal) == (person("ann", "x.edit"), person("bob"))
    assert bob.awaitingApproval is False


def test_periodic_checks_start_one_interval_late_and_restart_after_a_stop(clock):
    """The expiry check and the re-check first run one interval after start; a site
    without ``revalidate`` schedules only the expiry check; after a stop they start again."""
    asked: list[list[str]] = []

    def revalidate(userIds):
        asked.append(userIds)
        return succeed({u: None for u in userIds})

    auth = SiteAuth("field", noLogins, clock, idleSeconds=60, revalidate=revalidate)
    ended = []
    auth.addSessionEndListener(lambda session: ended.append(session.user))
    auth.sessions.create(person("ann"))
    auth.sessions.create(person("bob"))
    clock.advance(60)
    auth.startExpiryChecks(intervalSeconds=2, revalidateSeconds=30)
    assert (ended, asked) == ([], [])
    clock.advance(2)
    assert ended == ["ann", "bob"]

    auth.sessions.create(person("cy"))
    clock.advance(28)
    assert asked == [["local:cy"]]
    auth.stopExpiryChecks()
    auth.startExpiryChecks(intervalSeconds=2, revalidateSeconds=30)
    clock.advance(30)
    assert asked == [["local:cy"], ["local:cy"]]
    auth.stopExpiryChecks()

    plain = SiteAuth("field", noLogins, clock, idleSeconds=60)
    plain.startExpiryChecks()
    assert len(clock.getDelayedCalls()) == 1
    plain.stopExpiryChecks()


def test_ending_sessions_of_several_users_and_devices_returns_them_all(clock):
    """``endSessions`` ends and returns the sessions of every user and device named."""
    auth = SiteAuth("field", noLogins, clock, idleSeconds=600)
    create = auth.sessions.create
    sessions = [
        create(person("ann")),
        create(person("bob")),
        create(person("cy"), deviceId="d1"),
        create(person("di"), deviceId="d2"),
    ]
    ended = auth.endSessions(
        userIds=["local:ann", "local:bob"], deviceIds=["d1", "d2"], reason="test"
    )
    assert ended == sessions
    assert auth.sessions.sessions() == []


def test_a_new_site_has_no_links_and_keeps_sessions_in_its_file(tmp_path, clock):
    """Until ``SessionLinks`` is mounted a session has no links; a site given a session file
    restores the sessions another instance saved there."""
    path = sessionFilePath(tmp_path, "field")
    first = SiteAuth("field", noLogins, clock, idleSeconds=600, sessionFile=SessionFile(path))
    session = first.sessions.create(person("ann"))
    assert first.linksOf(session) == []
    first.sessions.close()
    second = SiteAuth("field", noLogins, clock, idleSeconds=600, sessionFile=SessionFile(path))
    assert second.sessions.get(session.sessionId).principal == person("ann")
    second.sessions.close()
