"""Cross-site request forgery defences: same-origin check and synchronizer tokens.

Every state-changing request must (1) not come from another origin, judged by ``Origin``
or else ``Referer`` when the browser sends one, and (2) carry a token that only a page
served by this site can know: the session's token once logged in, or before login a token
derived from a random pre-session cookie with a key that never leaves the process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from twisted.web.iweb import IRequest

#: Form field carrying the token in HTML form posts.
CSRF_FORM_FIELD = b"csrfToken"
#: Request header carrying the token in script requests (``fetch``).
CSRF_HEADER = b"X-CSRF-Token"
#: Methods that change nothing and need no token.
SAFE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS"})

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def tokensEqual(given: str | bytes | None, expected: str | bytes) -> bool:
    """Compare two secrets in constant time (also when their lengths differ)."""
    if given is None:
        return False
    givenBytes = given.encode() if isinstance(given, str) else given
    expectedBytes = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(
        hashlib.sha256(givenBytes).digest(), hashlib.sha256(expectedBytes).digest()
    )


def _netloc(host: str, port: int | None, scheme: str) -> str:
    """``host[:port]`` lower-cased, without the scheme's default port."""
    host = host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return host
    return f"{host}:{port}"


def _requestNetloc(request: IRequest) -> str | None:
    """The host and port the browser addressed (``Host`` header), normalised."""
    hostHeader = request.getHeader(b"host")
    if not hostHeader:
        return None
    host = hostHeader.decode("latin-1") if isinstance(hostHeader, bytes) else hostHeader
    scheme = "https" if request.isSecure() else "http"
    try:
        parts = urlsplit(f"//{host}")
        return _netloc(parts.hostname or "", parts.port, scheme)
    except ValueError:
        return None


def _urlNetloc(url: str) -> str | None:
    """The normalised ``host[:port]`` of an absolute URL or origin, or None if it has none."""
    try:
        parts = urlsplit(url)
        if not parts.scheme or not parts.hostname:
            return None
        return _netloc(parts.hostname, parts.port, parts.scheme.lower())
    except ValueError:
        return None


def crossOriginReason(request: IRequest) -> str | None:
    """Why the request looks cross-origin, or None when it is same-origin or unknown.

    The ``Origin`` header decides when present (``null`` is refused); otherwise the
    ``Referer``; a request with neither is left to the token check. The scheme is not
    compared, so a site behind a TLS-terminating proxy still matches its pages.
    """
    own = _requestNetloc(request)
    for headerName in (b"origin", b"referer"):
        value = request.getHeader(headerName)
        if value is None:
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        claimed = _urlNetloc(text)
        if claimed is None or own is None or claimed != own:
            return f"{headerName.decode().title()} {text!r} is not this site"
        return None
    return None


def requestToken(request: IRequest) -> str | None:
    """The anti-forgery token sent with a request: header first, then form field."""
    header = request.getHeader(CSRF_HEADER)
    if header:
        return header.decode("latin-1") if isinstance(header, bytes) else header
    values = (request.args or {}).get(CSRF_FORM_FIELD)
    if values:
        return values[0].decode("latin-1")
    return None


class PreSessionTokens:
    """Tokens for forms shown before login, bound to a random pre-session cookie value."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    @staticmethod
    def newCookieValue() -> str:
        """A fresh random pre-session cookie value."""
        return secrets.token_urlsafe(32)

    def tokenFor(self, cookieValue: str) -> str:
        """The form token that goes with ``cookieValue``."""
        return hmac.new(self._key, b"login\0" + cookieValue.encode(), hashlib.sha256).hexdigest()

    def check(self, cookieValue: str | None, token: str | None) -> bool:
        """True when ``token`` is the one issued with ``cookieValue``."""
        if not cookieValue:
            return False
        return tokensEqual(token, self.tokenFor(cookieValue))
