"""Device links close with CLOSE_SESSION_ENDED when the login session that opened them ends."""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import succeed
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest
from vortexfakes import FakeEndpoint, FakeLink

from peek_platform.identity.principal import Principal
from peek_platform.web.session_links import UPGRADE_GRACE_SECONDS, SessionLinks
from peek_platform.web.site_auth import SiteAuth
from vortex.transport import CLOSE_SESSION_ENDED


class Upgrades(Resource):
    """Stands in for the websocket resource: counts the upgrades it was handed."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def render(self, request):
        self.count += 1
        return b""


class UpgradeRequest(DummyRequest):
    """A DummyRequest with cookies (twisted's has none)."""

    def __init__(self, cookies: dict[bytes, bytes]) -> None:
        super().__init__([b"vortexws"])
        self.received_cookies = cookies

    def getCookie(self, key: bytes) -> bytes | None:
        return self.received_cookies.get(key)


def upgradeFrom(auth: SiteAuth, session, port: int) -> UpgradeRequest:
    """A websocket upgrade request from 127.0.0.1:``port`` carrying ``session``'s cookie."""
    request = UpgradeRequest({auth.sessionCookie: session.sessionId.encode()})
    request.client = IPv4Address("TCP", "127.0.0.1", port)
    return request


def who(name: str) -> Principal:
    return Principal(f"local:{name}", name, frozenset(), frozenset())


def test_links_of_a_session_close_when_it_ends_and_others_stay(clock):
    """Ending one session closes exactly its links, with CLOSE_SESSION_ENDED."""
    auth = SiteAuth("field", lambda *a: succeed(who("x")), clock, idleSeconds=60)
    endpoint = FakeEndpoint(Upgrades())
    links = SessionLinks(auth, endpoint)
    ann, bob = auth.sessions.create(who("ann")), auth.sessions.create(who("bob"))
    for session, port in ((ann, 5001), (ann, 5002), (bob, 5003)):
        links.render(upgradeFrom(auth, session, port))
        endpoint.connections.append(FakeLink(f"127.0.0.1:{port}"))
    assert endpoint.resource.count == 3
    assert links.linksOf(ann) == ["127.0.0.1:5001", "127.0.0.1:5002"]

    auth.sessions.remove(ann.sessionId)
    closed = {link.peerAddress: link.closed for link in endpoint.connections}
    assert closed == {
        "127.0.0.1:5001": ("login session ended", CLOSE_SESSION_ENDED),
        "127.0.0.1:5002": ("login session ended", CLOSE_SESSION_ENDED),
        "127.0.0.1:5003": None,
    }


def test_expiry_checks_close_an_idle_sessions_links_without_any_request(clock):
    """With expiry checks running, an idle session's link closes within one check interval."""
    auth = SiteAuth("field", lambda *a: succeed(who("x")), clock, idleSeconds=60)
    endpoint = FakeEndpoint(Upgrades())
    links = SessionLinks(auth, endpoint)
    ann = auth.sessions.create(who("ann"))
    links.render(upgradeFrom(auth, ann, 5001))
    endpoint.connections.append(link := FakeLink("127.0.0.1:5001"))
    auth.startExpiryChecks(intervalSeconds=2)
    clock.advance(58)
    assert link.closed is None
    clock.advance(2)
    assert link.closed == ("login session ended", CLOSE_SESSION_ENDED)
    auth.stopExpiryChecks()


def test_identity_at_a_links_address_is_its_sessions_user_and_follows_changes(clock):
    """identityAt gives the user, device, site and permissions of the session behind the
    link at that address; a re-validated principal shows at once; after logout, nothing."""
    auth = SiteAuth("field", lambda *a: succeed(who("x")), clock, idleSeconds=60)
    endpoint = FakeEndpoint(Upgrades())
    links = SessionLinks(auth, endpoint)
    ann = auth.sessions.create(Principal("local:ann", "ann", frozenset(), frozenset({"a.edit"})))
    ann.deviceId = "dev-1"
    links.render(upgradeFrom(auth, ann, 5001))
    endpoint.connections.append(FakeLink("127.0.0.1:5001"))

    identity = links.identityAt("127.0.0.1:5001")
    assert (identity.userId, identity.userName, identity.deviceId, identity.site) == (
        "local:ann",
        "ann",
        "dev-1",
        "field",
    )
    assert identity.permissions == {"a.edit"}
    assert links.identityAt("127.0.0.1:5001") is identity
    assert links.identityAt("127.0.0.1:5999") is None

    ann.principal = Principal("local:ann", "ann", frozenset(), frozenset())
    assert links.identityAt("127.0.0.1:5001").permissions == frozenset()

    auth.sessions.remove(ann.sessionId)
    assert links.identityAt("127.0.0.1:5001") is None


def test_link_messages_keep_a_session_from_going_idle(clock):
    """Asking a link's identity (done for every message it sends) restarts the idle timer."""
    auth = SiteAuth("field", lambda *a: succeed(who("x")), clock, idleSeconds=60)
    endpoint = FakeEndpoint(Upgrades())
    links = SessionLinks(auth, endpoint)
    ann = auth.sessions.create(who("ann"))
    links.render(upgradeFrom(auth, ann, 5001))
    endpoint.connections.append(FakeLink("127.0.0.1:5001"))
    clock.advance(50)
    assert links.identityAt("127.0.0.1:5001") is not None
    clock.advance(50)
    assert auth.sessions.get(ann.sessionId, touch=False) is ann


def test_many_upgrades_of_one_session_at_once_are_all_admitted(clock):
    """Tabs of one browser share its login session: 500 upgrades arriving before any of
    their links is up are all admitted at hello (none is forgotten as a gone link)."""
    auth = SiteAuth("field", lambda *a: succeed(who("x")), clock, idleSeconds=60)
    endpoint = FakeEndpoint(Upgrades())
    links = SessionLinks(auth, endpoint, clock=clock)
    ann = auth.sessions.create(who("ann"))
    ports = range(6000, 6500)
    for port in ports:
        links.render(upgradeFrom(auth, ann, port))
    assert [links.admit(f"127.0.0.1:{port}") for port in ports] == [None] * len(ports)


def test_addresses_of_links_that_never_came_up_are_forgotten_after_the_grace(clock):
    """An upgrade whose link never came up (or has closed) is forgotten once the session's
    upgrades pile up past the grace time, so a long-lived session's map stays bounded;
    its live links stay known and still close with the session."""
    auth = SiteAuth("field", lambda *a: succeed(who("x")), clock, idleSeconds=600)
    endpoint = FakeEndpoint(Upgrades())
    links = SessionLinks(auth, endpoint, clock=clock)
    ann = auth.sessions.create(who("ann"))
    links.render(upgradeFrom(auth, ann, 7000))
    endpoint.connections.append(live := FakeLink("127.0.0.1:7000"))
    for port in range(7001, 7200):  # never linked
        links.render(upgradeFrom(auth, ann, port))
    clock.advance(UPGRADE_GRACE_SECONDS + 1)
    for port in range(8000, 8200):
        links.render(upgradeFrom(auth, ann, port))
    assert links.admit("127.0.0.1:7001") is not None  # forgotten: it would be refused now
    assert links.admit("127.0.0.1:8199") is None
    assert links.linksOf(ann) == ["127.0.0.1:7000"]
    auth.sessions.remove(ann.sessionId)
    assert live.closed == ("login session ended", CLOSE_SESSION_ENDED)
