"""Drive a ``twisted.web`` site in memory, like a browser, for tests of web resources.

``InMemoryBrowser(site).get("/")`` sends real HTTP/1.1 bytes through the site's own
protocol over a ``StringTransport``, so request parsing, cookies, form bodies, headers and
static file producers behave as on a socket; the browser keeps cookies between requests.
Only resources that answer synchronously (no pending Deferred) are supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.testing import StringTransport
from twisted.web.server import Site
from zope.interface import implementer


@dataclass
class Response:
    """One parsed HTTP response."""

    code: int
    #: Header values by lower-case name, in arrival order.
    headers: dict[str, list[str]]
    body: bytes
    #: Raw ``Set-Cookie`` values.
    setCookies: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def cookie(self, name: str) -> SimpleCookie | None:
        """The parsed ``Set-Cookie`` for ``name`` (the last one set), or None."""
        found = None
        for raw in self.setCookies:
            parsed = SimpleCookie()
            parsed.load(raw)
            if name in parsed:
                found = parsed
        return found

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")


def _pumpingRequestFactory(base: type) -> type:
    """A subclass of ``base`` that drives pull producers (static files) to the end at once.

    On a socket the reactor's cooperator pulls them; there is no reactor here.
    """

    class PumpingRequest(base):
        def registerProducer(self, producer: Any, streaming: bool) -> None:
            if streaming:
                super().registerProducer(producer, streaming)
                return
            self.producer = producer
            self.streamingProducer = False
            while self.producer is producer:
                producer.resumeProducing()

        def unregisterProducer(self) -> None:
            if self.producer is not None and not self.streamingProducer:
                self.producer = None
                return
            super().unregisterProducer()

    return PumpingRequest


def _dechunk(data: bytes) -> bytes:
    body = b""
    while data:
        sizeLine, _, data = data.partition(b"\r\n")
        size = int(sizeLine.split(b";")[0], 16)
        if size == 0:
            break
        body += data[:size]
        data = data[size + 2 :]
    return body


def parseResponse(raw: bytes) -> Response:
    """Parse one HTTP/1.x response (plain, ``Content-Length`` or chunked body)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    statusLine, *headerLines = head.decode("latin-1").split("\r\n")
    code = int(statusLine.split(" ")[1])
    headers: dict[str, list[str]] = {}
    for line in headerLines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        body = _dechunk(rest)
    elif "content-length" in headers:
        body = rest[: int(headers["content-length"][0])]
    else:
        body = rest
    return Response(code, headers, body, headers.get("set-cookie", []))


@implementer(ISSLTransport)
class _TlsStringTransport(StringTransport):
    """A string transport the site takes for a TLS connection (``request.isSecure()``)."""

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Nothing to tune in memory."""

    def getTcpNoDelay(self) -> bool:
        """Never set in memory."""
        return False

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Nothing to tune in memory."""

    def getTcpKeepAlive(self) -> bool:
        """Never set in memory."""
        return False

    def loseWriteConnection(self) -> None:
        """Half-close: in memory, the same as closing."""
        self.loseConnection()

    def getPeerCertificate(self) -> None:
        """No client certificate."""


class InMemoryBrowser:
    """Sends requests to ``site`` without sockets and keeps its cookies like a browser.

    ``host`` is sent as the ``Host`` header; ``clientHost`` is the peer address the site
    sees; ``secure`` makes the site see a TLS connection. Cookies are kept by name (path
    and expiry attributes are honoured only as far as "Max-Age=0 deletes").
    """

    def __init__(
        self,
        site: Site,
        *,
        host: str = "localhost:8010",
        clientHost: str = "127.0.0.1",
        secure: bool = False,
    ) -> None:
        self.site = site
        self.host = host
        self.clientHost = clientHost
        self.secure = secure
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        """Send one request and return the parsed response; cookies are updated."""
        allHeaders = {"Host": self.host, "Connection": "close"}
        if self.cookies:
            allHeaders["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            allHeaders["Content-Type"] = "application/x-www-form-urlencoded"
        if body or method not in ("GET", "HEAD"):
            allHeaders["Content-Length"] = str(len(body))
        allHeaders.update(headers or {})
        lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in allHeaders.items())]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

        address = IPv4Address("TCP", self.clientHost, 40000)
        transportClass = _TlsStringTransport if self.secure else StringTransport
        transport = transportClass(peerAddress=address)
        protocol = self.site.buildProtocol(address)
        protocol.requestFactory = _pumpingRequestFactory(self.site.requestFactory)
        protocol.makeConnection(transport)
        protocol.dataReceived(raw)
        response = parseResponse(transport.value())
        protocol.connectionLost(None)
        self._keepCookies(response)
        return response

    def get(
        self,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        """``GET path``."""
        return self.request("GET", path, headers=headers, form=form, body=body)

    def post(
        self,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        """``POST path``."""
        return self.request("POST", path, headers=headers, form=form, body=body)

    def _keepCookies(self, response: Response) -> None:
        for raw in response.setCookies:
            parsed = SimpleCookie()
            parsed.load(raw)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
