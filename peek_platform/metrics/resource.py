"""``GET /metrics``: the Prometheus text format, free from loopback, else with a bearer token.

The rule (``docs/admin/metrics.rst``): a request from 127.0.0.1 or ::1 needs no credentials;
any other peer must send ``Authorization: Bearer <metrics.bearerToken>``, compared in constant
time. With no token configured other peers get 403. The peer is the TCP peer address:
``X-Forwarded-For`` and the like are never trusted.
"""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

#: The config key of the token other hosts must send.
BEARER_TOKEN_KEY = "metrics.bearerToken"
#: The path the metrics are served at, on every site and listener.
METRICS_PATH = b"metrics"

_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_BEARER = b"bearer "


def isLoopbackPeer(host: str) -> bool:
    """True for the loopback addresses a local scraper connects from: 127.0.0.1 and ::1
    (also as ``::ffff:127.0.0.1``). Other 127.x addresses count as other hosts."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address in _LOOPBACK


class MetricsAccess:
    """Decides who may read the metrics: loopback peers, or a matching bearer token."""

    def __init__(self, bearerToken: str) -> None:
        self._token = bearerToken.encode("utf-8") if bearerToken else None

    def refusal(self, request: IRequest) -> tuple[int, str] | None:
        """None when ``request`` may read the metrics, else the HTTP status and why."""
        host = getattr(request.getClientAddress(), "host", None)
        if isinstance(host, str) and isLoopbackPeer(host):
            return None
        if self._token is None:
            return (
                403,
                "metrics are served to this host (127.0.0.1, ::1) only: set "
                f"{BEARER_TOKEN_KEY} in the service's config.json and send it as "
                "'Authorization: Bearer TOKEN' to scrape from elsewhere\n",
            )
        header = request.getHeader(b"authorization") or b""
        if not isinstance(header, bytes):
            header = str(header).encode("utf-8")
        if header[: len(_BEARER)].lower() != _BEARER:
            return 401, "send 'Authorization: Bearer TOKEN' with the metrics bearer token\n"
        if not hmac.compare_digest(header[len(_BEARER) :].strip(), self._token):
            return 401, "wrong metrics bearer token\n"
        return None


class MetricsResource(Resource):
    """Serves ``registry`` in the Prometheus text format to whoever ``access`` lets in."""

    isLeaf = True

    def __init__(self, registry: CollectorRegistry, access: MetricsAccess) -> None:
        super().__init__()
        self.registry = registry
        self.access = access

    def render_GET(self, request: IRequest) -> bytes:
        """The current metrics, or the refusal as plain text; never cached."""
        request.setHeader(b"Cache-Control", b"no-store")
        refused = self.access.refusal(request)
        if refused is not None:
            code, text = refused
            request.setResponseCode(code)
            if code == 401:
                request.setHeader(b"WWW-Authenticate", b'Bearer realm="peek-metrics"')
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return text.encode("utf-8")
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
        return generate_latest(self.registry)
