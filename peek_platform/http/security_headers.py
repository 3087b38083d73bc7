"""Response headers every Peek web site sends: content security policy and friends.

The policy allows what the platform's own pages are built from (scripts, ES modules,
styles, images and fonts from the same site, and the vortex websocket back to it) and
nothing else: no inline scripts, no framing, no plugins, no third-party origins.
"""

from __future__ import annotations

import re

from twisted.web.iweb import IRequest

#: A ``Host`` header we are willing to echo into the policy (name or address, optional port).
_HOST_PATTERN = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def contentSecurityPolicy(host: str | None) -> str:
    """The CSP for a page served to ``host``; the websocket may connect back to that host.

    ``'self'`` covers ``ws:``/``wss:`` to the same host in current browsers; the explicit
    ``ws://host`` and ``wss://host`` sources cover older ones. A ``host`` that is not a
    plain name or address is left out rather than echoed.
    """
    connect = "connect-src 'self'"
    if host and _HOST_PATTERN.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join((*_POLICY, connect))


def applySecurityHeaders(request: IRequest) -> None:
    """Set the security headers and the default ``Cache-Control: no-cache`` on a response.

    ``no-cache`` lets browsers keep files but revalidate them on every use, so an upgraded
    platform or plugin is picked up at once; resources may replace it.
    """
    hostHeader = request.getHeader(b"host")
    host = hostHeader.decode("latin-1") if isinstance(hostHeader, bytes) else hostHeader
    request.setHeader(b"Content-Security-Policy", contentSecurityPolicy(host).encode())
    request.setHeader(b"X-Content-Type-Options", b"nosniff")
    request.setHeader(b"X-Frame-Options", b"DENY")
    request.setHeader(b"Referrer-Policy", b"same-origin")
    request.setHeader(b"Cache-Control", b"no-cache")
