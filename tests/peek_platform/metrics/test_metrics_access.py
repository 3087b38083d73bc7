"""The /metrics access rule over real sockets: loopback free, elsewhere a bearer token.

A peer at 127.0.0.2 reaches a listener on 127.0.0.1 over Linux's loopback device, but is
not one of the loopback addresses the rule lets in (127.0.0.1, ::1), so it stands for a
scraper on another host.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from twisted.internet import defer, reactor

from peek_platform.metrics.collectors import ServiceInfoCollector
from peek_platform.metrics.listener import ListenerAddress, listenForMetrics
from peek_platform.metrics.resource import MetricsAccess, MetricsResource, isLoopbackPeer
from peek_platform.web.listening import WebSiteError
from peek_plugin_base.testing.ReactorWait import waitForDeferred

TOKEN = "metrics-token-0123456789abcdef"
ELSEWHERE = "127.0.0.2"


def registry() -> CollectorRegistry:
    """A registry with one known family to find in the answers."""
    held = CollectorRegistry()
    held.register(ServiceInfoCollector("agent"))
    return held


@pytest.fixture
def serve() -> Iterator:
    """``serve(token, host="127.0.0.1")``: a metrics listener on an OS-picked port; its port."""
    ports = []

    def start(token: str, host: str = "127.0.0.1") -> int:
        resource = MetricsResource(registry(), MetricsAccess(token))
        port = listenForMetrics(reactor, resource, ListenerAddress(0, host))
        ports.append(port)
        return port.getHost().port

    yield start
    waitForDeferred(defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports]))


def families(text: str) -> dict:
    """The parsed families by name."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_loopback_reads_without_credentials(serve, httpGet):
    """A scraper on 127.0.0.1 gets the Prometheus text without any token."""
    port = serve("")
    answer = httpGet("127.0.0.1", port)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert families(answer.text)["peek_service_info"].samples[0].labels["service"] == "agent"


def test_ipv6_loopback_reads_without_credentials(serve, httpGet):
    """::1 is loopback too."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    port = serve("", host="::1")
    assert httpGet("::1", port).status == 200


def test_elsewhere_without_a_configured_token_is_refused(serve, httpGet):
    """With no metrics.bearerToken, another host gets 403 naming the setting, even with an
    Authorization header."""
    port = serve("")
    answer = httpGet("127.0.0.1", port, sourceAddress=ELSEWHERE)
    assert answer.status == 403
    assert "metrics.bearerToken" in answer.text
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpGet("127.0.0.1", port, headers=headers, sourceAddress=ELSEWHERE).status == 403


def test_elsewhere_needs_the_configured_bearer_token(serve, httpGet):
    """Another host gets 401 without a token or with a wrong one, and the metrics with the
    configured token; the answer never contains the token."""
    port = serve(TOKEN)
    missing = httpGet("127.0.0.1", port, sourceAddress=ELSEWHERE)
    assert missing.status == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = {"Authorization": f"Bearer {TOKEN}x"}
    assert httpGet("127.0.0.1", port, headers=wrong, sourceAddress=ELSEWHERE).status == 401
    basic = {"Authorization": f"Basic {TOKEN}"}
    assert httpGet("127.0.0.1", port, headers=basic, sourceAddress=ELSEWHERE).status == 401
    right = {"Authorization": f"bearer {TOKEN}"}
    answer = httpGet("127.0.0.1", port, headers=right, sourceAddress=ELSEWHERE)
    assert answer.status == 200
    assert "peek_service_info" in families(answer.text)
    assert TOKEN not in missing.text + answer.text


def test_listener_serves_only_metrics(serve, httpGet):
    """The agent/worker listener answers nothing but /metrics."""
    port = serve("")
    assert httpGet("127.0.0.1", port, "/").status == 404
    assert httpGet("127.0.0.1", port, "/health").status == 404


def test_listener_on_a_busy_port_names_the_keys(serve):
    """A port in use fails with WebSiteError naming metrics.sitePort and metrics.bindAddress."""
    port = serve("")
    resource = MetricsResource(registry(), MetricsAccess(""))
    with pytest.raises(WebSiteError, match=r"metrics\.bindAddress, metrics\.sitePort"):
        listenForMetrics(reactor, resource, ListenerAddress(port, "127.0.0.1"))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("127.0.0.2", False),
        ("10.1.2.3", False),
        ("::ffff:10.1.2.3", False),
        ("fe80::1%eth0", False),
        ("not-an-address", False),
    ],
)
def test_loopback_addresses(host, loopback):
    """Exactly 127.0.0.1 and ::1 (also IPv4-mapped) count as loopback."""
    assert isLoopbackPeer(host) is loopback
