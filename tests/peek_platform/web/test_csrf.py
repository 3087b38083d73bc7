"""Same-origin checks, token comparison and pre-session login tokens."""

from __future__ import annotations

import pytest
from twisted.web.test.requesthelper import DummyRequest

from peek_platform.web.csrf import (
    PreSessionTokens,
    crossOriginReason,
    requestToken,
    tokensEqual,
)


def request(host: str | None = "peek.test:8010", **headers: str) -> DummyRequest:
    """A request addressed to ``host`` with extra headers (``Origin`` etc.)."""
    req = DummyRequest([b""])
    req.isSecure = lambda: False
    if host is not None:
        req.requestHeaders.setRawHeaders(b"host", [host.encode()])
    for name, value in headers.items():
        req.requestHeaders.setRawHeaders(name.encode(), [value.encode()])
    return req


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://peek.test:8010"},
        {"Origin": "https://PEEK.test:8010"},
        {"Referer": "http://peek.test:8010/login?next=/"},
    ],
)
def test_same_origin_requests_pass(headers):
    """No Origin/Referer, or ones naming this host and port, are same-origin."""
    assert crossOriginReason(request(**headers)) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.test:8010"},
        {"Origin": "http://peek.test:8011"},
        {"Origin": "null"},
        {"Referer": "http://evil.test/page"},
        {"Origin": "http://evil.test", "Referer": "http://peek.test:8010/"},
    ],
)
def test_cross_origin_requests_are_named(headers):
    """Another host or port, or an opaque origin, is reported with the header."""
    reason = crossOriginReason(request(**headers))
    assert reason is not None
    assert "is not this site" in reason


def test_default_ports_match_a_host_without_port():
    """An origin with the scheme's default port matches a Host header without one."""
    assert crossOriginReason(request("peek.test", Origin="http://peek.test:80")) is None
    assert crossOriginReason(request("peek.test", Origin="https://peek.test")) is None


def test_origin_without_host_header_is_refused():
    """Without a Host header an Origin cannot be matched and is refused."""
    assert crossOriginReason(request(None, Origin="http://peek.test")) is not None


def test_token_comes_from_header_then_form():
    """The X-CSRF-Token header wins over the csrfToken form field."""
    req = request()
    req.args = {b"csrfToken": [b"from-form"]}
    assert requestToken(req) == "from-form"
    req.requestHeaders.setRawHeaders(b"x-csrf-token", [b"from-header"])
    assert requestToken(req) == "from-header"
    assert requestToken(request()) is None


def test_tokens_equal_only_when_identical():
    """Tokens compare equal only when identical; None never matches."""
    assert tokensEqual("abc", "abc")
    assert not tokensEqual("abd", "abc")
    assert not tokensEqual("ab", "abc")
    assert not tokensEqual(None, "abc")


def test_pre_session_token_is_bound_to_cookie_and_key():
    """A login token checks only with its own cookie value and the issuing key."""
    tokens = PreSessionTokens()
    cookie = PreSessionTokens.newCookieValue()
    token = tokens.tokenFor(cookie)
    assert tokens.check(cookie, token)
    assert not tokens.check(PreSessionTokens.newCookieValue(), token)
    assert not tokens.check(None, token)
    assert not tokens.check(cookie, None)
    assert not PreSessionTokens().check(cookie, token)
