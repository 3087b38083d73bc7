"""The content security policy and the headers every site sets."""

from __future__ import annotations

from twisted.web.test.requesthelper import DummyRequest

from peek_platform.http.security_headers import applySecurityHeaders, contentSecurityPolicy


def test_policy_allows_self_and_websocket_to_the_host():
    """Scripts and styles come from self only; the websocket may connect back to the host."""
    policy = contentSecurityPolicy("peek.test:8000")
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["connect-src"] == "'self' ws://peek.test:8000 wss://peek.test:8000"


def test_odd_host_is_not_echoed():
    """A Host header that is not a plain name or address is left out of the policy."""
    policy = contentSecurityPolicy("evil.test; script-src *")
    assert "evil" not in policy
    assert policy.endswith("connect-src 'self'")


def test_headers_are_set_on_the_response():
    """nosniff, frame denial, referrer policy, CSP and no-cache are all set."""
    request = DummyRequest([b""])
    request.requestHeaders.setRawHeaders(b"host", [b"[::1]:8002"])
    applySecurityHeaders(request)
    headers = request.responseHeaders
    assert headers.getRawHeaders(b"x-content-type-options") == [b"nosniff"]
    assert headers.getRawHeaders(b"x-frame-options") == [b"DENY"]
    assert headers.getRawHeaders(b"referrer-policy") == [b"same-origin"]
    assert headers.getRawHeaders(b"cache-control") == [b"no-cache"]
    assert b"ws://[::1]:8002" in headers.getRawHeaders(b"content-security-policy")[0]
