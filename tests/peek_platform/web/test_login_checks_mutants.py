"""The session store, origin and token checks and the login throttle: behaviours that
mutation testing found unasserted (docs/dev/mutation-testing.rst).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from twisted.internet.defer import fail
from twisted.web.test.requesthelper import DummyRequest

from peek_platform.identity.principal import LoginRefused, Principal
from peek_platform.web.csrf import PreSessionTokens, crossOriginReason, tokensEqual
from peek_platform.web.login_throttle import FORGET_AFTER_SECONDS, LoginThrottle
from peek_platform.web.session import SessionStore, csrfTokenFor
from peek_platform.web.session_file import SessionFile, sessionFilePath
from peek_platform.web.site_auth import SiteAuth


def person(name: str) -> Principal:
    """A local user called ``name`` holding no roles."""
    return Principal(f"local:{name}", name, frozenset(), frozenset())


# ---- origin and tokens ---------------------------------------------------------------


class AddressedRequest(DummyRequest):
    """A request over TLS or not."""

    def __init__(self, secure: bool) -> None:
        super().__init__([b""])
        self.secure = secure

    def isSecure(self) -> bool:
        return self.secure


def request(host: str, *, secure: bool = False, **headers: str) -> DummyRequest:
    """A request addressed to ``host`` (the Host header) with extra headers."""
    req = AddressedRequest(secure)
    req.requestHeaders.setRawHeaders(b"host", [host.encode()])
    for name, value in headers.items():
        req.requestHeaders.setRawHeaders(name.encode(), [value.encode()])
    return req


@pytest.mark.parametrize(
    ("host", "secure", "origin"),
    [
        ("peek.test:80", False, "http://peek.test"),
        ("peek.test:443", True, "https://peek.test"),
        ("[::1]:8010", False, "http://[::1]:8010"),
        ("[fe80::1]", True, "https://[FE80::1]:443"),
    ],
)
def test_a_host_with_its_schemes_default_port_matches_an_origin_without_it(host, secure, origin):
    """The Host header's port is dropped when it is the default of the request's scheme
    (http, or https over TLS), as it is in an origin; IPv6 hosts match in brackets."""
    assert crossOriginReason(request(host, secure=secure, Origin=origin)) is None


@pytest.mark.parametrize(
    ("host", "header", "value"),
    [
        ("[::1]:8010", "Origin", "http://[::1:8010]"),
        ("peek.test:8010", "Origin", "http://"),
        ("peek.test:8010", "Referer", "//peek.test:8010/page"),
        ("peek.test:443", "Origin", "https://peek.test"),
        (":8010", "Origin", "http://xxxx:8010"),
    ],
)
def test_origins_that_only_look_like_this_site_are_refused(host, header, value):
    """An IPv6 address that merely contains the port, an origin without a host, a
    scheme-relative referer, https's default port on a plain-HTTP request, and any origin
    when the Host header names no host are all another site, named in the reason."""
    reason = crossOriginReason(request(host, **{header: value}))
    assert reason == f"{header} {value!r} is not this site"


def test_tokens_compare_as_bytes_too():
    """``tokensEqual`` takes bytes as well as text."""
    assert tokensEqual(b"abc", b"abc")
    assert tokensEqual(b"abc", "abc")
    assert not tokensEqual(b"abd", b"abc")


def test_login_tokens_depend_only_on_key_and_cookie():
    """Two token sources with the same key issue the same token for a cookie (so the key
    may be shared); a cookie value carries 32 random bytes."""
    key = b"k" * 32
    assert PreSessionTokens(key).tokenFor("cookie") == PreSessionTokens(key).tokenFor("cookie")
    assert PreSessionTokens(key).tokenFor("cookie") != PreSessionTokens().tokenFor("cookie")
    assert len(base64.urlsafe_b64decode(PreSessionTokens.newCookieValue() + "=")) == 32


def test_a_site_issues_login_form_tokens_from_the_token_source_it_is_given(clock):
    """A site given a ``PreSessionTokens`` issues that source's token for the browser's
    login cookie."""
    key = b"k" * 32
    auth = SiteAuth(
        "field",
        lambda *args: fail(LoginRefused("no")),
        clock,
        idleSeconds=60,
        loginTokens=PreSessionTokens(key),
    )
    req = DummyRequest([b""])
    req.getCookie = lambda name: b"browser-cookie"
    assert auth.loginFormToken(req) == PreSessionTokens(key).tokenFor("browser-cookie")


def test_the_sessions_csrf_token_is_an_hmac_of_a_fixed_label_keyed_by_its_id():
    """The CSRF token is the unpadded url-safe Base64 of HMAC-SHA256(id, "peek csrf token"),
    so it is the same for the same id after a restart or an upgrade."""
    digest = hmac.new(b"session-id", b"peek csrf token", hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert csrfTokenFor("session-id") == expected
    assert "=" not in expected and len(expected) == 43


# ---- the session store ---------------------------------------------------------------


def test_remove_answers_the_ended_session_or_none(clock):
    """Removing a session answers it; an unknown or already removed id answers None."""
    store = SessionStore(clock, idleSeconds=60)
    session = store.create(person("ann"))
    assert store.remove(session.sessionId) is session
    assert store.remove(session.sessionId) is None
    assert store.remove("not-an-id") is None


def test_start_listeners_hear_of_each_new_session_which_waits_only_when_asked(clock):
    """Every session that starts is told to the start listeners; it waits for approval
    only when created so."""
    store = SessionStore(clock, idleSeconds=60)
    started = []
    store.addStartListener(started.append)
    plain = store.create(person("ann"))
    waiting = store.create(person("bob"), deviceId="d1", awaitingApproval=True)
    assert started == [plain, waiting]
    assert (plain.awaitingApproval, waiting.awaitingApproval) == (False, True)


def test_a_store_keeps_at_most_1000_sessions_by_default(clock):
    """Without ``maxSessions`` the 1001st login ends the least recently used session."""
    store = SessionStore(clock, idleSeconds=60)
    first = store.create(person("u0"))
    clock.advance(1)
    for i in range(1, 1000):
        store.create(person(f"u{i}"))
    assert store.get(first.sessionId, touch=False) is first
    store.create(person("u1000"))
    assert len(store) == 1000
    assert store.get(first.sessionId) is None


def test_lifetimes_must_be_positive_but_may_be_short(clock):
    """Lifetimes under a second are accepted; a zero ``maxSeconds`` is refused naming it."""
    SessionStore(clock, idleSeconds=0.5, maxSeconds=0.5)
    with pytest.raises(ValueError, match=r"^maxSeconds must be positive, got 0$"):
        SessionStore(clock, idleSeconds=60, maxSeconds=0)


def test_a_restored_session_has_no_id_or_token_until_its_browser_returns(tmp_path, clock):
    """A session read back from the file has an empty id and CSRF token until its cookie
    comes back."""
    path = sessionFilePath(tmp_path, "field")
    before = SessionStore(clock, idleSeconds=60, file=SessionFile(path))
    session = before.create(person("ann"))
    before.close()
    after = SessionStore(clock, idleSeconds=60, file=SessionFile(path))
    [restored] = after.sessions()
    assert (restored.sessionId, restored.csrfToken) == ("", "")
    assert after.get(session.sessionId) is restored
    assert (restored.sessionId, restored.csrfToken) == (session.sessionId, session.csrfToken)
    after.close()


def test_close_writes_the_last_use_and_the_store_then_works_in_memory(tmp_path, clock):
    """``close`` writes the sessions' last use to the file; afterwards (a late request while
    stopping) sessions still start and end in memory, and a store without a file closes
    too."""
    path = sessionFilePath(tmp_path, "field")
    store = SessionStore(clock, idleSeconds=600, file=SessionFile(path))
    session = store.create(person("ann"))
    clock.advance(100)
    store.get(session.sessionId)
    store.close()
    assert [s.lastSeen for s in SessionFile(path).load()] == [100]
    late = store.create(person("bob"))
    assert store.remove(late.sessionId) is late
    SessionStore(clock, idleSeconds=600).close()


# ---- the login throttle --------------------------------------------------------------


def test_the_default_throttle_allows_three_failures_then_doubles_to_15_minutes(clock):
    """By default three failures are free, then the wait starts at one second and doubles
    up to 900 seconds."""
    throttle = LoginThrottle(clock)
    assert [throttle.delayAfter(n) for n in range(6)] == [0, 0, 0, 1, 2, 4]
    assert throttle.delayAfter(13) == 900


def test_failure_records_are_forgotten_only_after_a_full_day(clock):
    """A record is kept for exactly ``FORGET_AFTER_SECONDS`` after its last failure and
    forgotten after that, however late in the clock's life."""
    clock.advance(50000)
    throttle = LoginThrottle(clock, freeFailures=0, maxDelaySeconds=10**7)
    for _ in range(20):
        throttle.recordFailure("10.0.0.1")
    clock.advance(FORGET_AFTER_SECONDS)
    throttle.recordFailure("10.0.0.2")
    assert throttle.retryAfter("10.0.0.1") > 0
    clock.advance(1)
    throttle.recordFailure("10.0.0.3")
    assert throttle.retryAfter("10.0.0.1") == 0


def test_a_full_throttle_forgets_the_longest_quiet_address(clock):
    """When the table is full the address whose last failure is oldest goes, whatever its
    name."""
    throttle = LoginThrottle(clock, freeFailures=0, maxClients=2)
    throttle.recordFailure("10.0.0.9")
    clock.advance(1)
    throttle.recordFailure("10.0.0.1")
    clock.advance(1)
    throttle.recordFailure("10.0.0.5")
    assert throttle.retryAfter("10.0.0.9") == 0
    assert throttle.retryAfter("10.0.0.1") > 0
