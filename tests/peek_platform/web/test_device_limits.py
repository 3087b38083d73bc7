"""Per-address limits on device links: too many open, or opened too fast, get 429."""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest
from vortexfakes import FakeEndpoint, FakeLink

from peek_platform.web.device_limits import DeviceLinkLimits, DeviceLinkLimitSettings


class Upgrades(Resource):
    """Stands in for the websocket resource: counts the upgrades let through."""

    isLeaf = True

    def __init__(self, endpoint: FakeEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.count = 0

    def render(self, request):
        self.count += 1
        peer = request.getClientAddress()
        self.endpoint.connections.append(FakeLink(f"{peer.host}:{peer.port}"))
        return b""


def upgrade(limits: DeviceLinkLimits, host: str, port: int) -> DummyRequest:
    """Send one /vortexws upgrade from host:port through ``limits``; the finished request."""
    request = DummyRequest([b"vortexws"])
    request.client = IPv4Address("TCP", host, port)
    body = limits.render(request)
    if body:
        request.write(body)
    return request


def build(clock, concurrent: int, newPerMinute: int):
    """Limits over a fake endpoint; returns (limits, endpoint, upgrades)."""
    endpoint = FakeEndpoint(None)
    upgrades = Upgrades(endpoint)
    settings = DeviceLinkLimitSettings(concurrent=concurrent, newPerMinute=newPerMinute)
    return (
        DeviceLinkLimits(upgrades, endpoint, settings, clock, siteName="field"),
        endpoint,
        upgrades,
    )


def test_links_opened_too_fast_are_refused_until_the_minute_passes(clock, caplog):
    """The address's (n+1)th link in a minute gets 429 with Retry-After; another address
    still links; after the minute the first address links again."""
    limits, _, upgrades = build(clock, concurrent=100, newPerMinute=3)
    for port in range(3):
        assert upgrade(limits, "10.0.0.1", 5000 + port).responseCode is None
    refused = upgrade(limits, "10.0.0.1", 5003)
    assert refused.responseCode == 429
    assert refused.responseHeaders.getRawHeaders(b"retry-after") == [b"60"]
    assert b"more than 3 new device links a minute" in b"".join(refused.written)
    assert "refused a device link from 10.0.0.1" in caplog.text
    assert upgrade(limits, "10.0.0.2", 6000).responseCode is None
    assert upgrades.count == 4
    clock.advance(60)
    assert upgrade(limits, "10.0.0.1", 5004).responseCode is None
    assert upgrades.count == 5


def test_an_address_holding_its_limit_of_links_is_refused_until_one_closes(clock):
    """With ``concurrent`` links open from an address the next is refused; once one closes,
    a new one is let through."""
    limits, endpoint, upgrades = build(clock, concurrent=2, newPerMinute=100)
    upgrade(limits, "10.0.0.1", 5000)
    upgrade(limits, "10.0.0.1", 5001)
    refused = upgrade(limits, "10.0.0.1", 5002)
    assert refused.responseCode == 429
    assert b"2 device links are open from this address already" in b"".join(refused.written)
    assert upgrade(limits, "10.0.0.2", 6000).responseCode is None
    endpoint.connections.pop(0)
    assert upgrade(limits, "10.0.0.1", 5003).responseCode is None
    assert upgrades.count == 4
