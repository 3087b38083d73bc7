"""A site that needs logins refuses a device link without a session at its handshake, with
CLOSE_LOGIN_REQUIRED, over a real socket; a kiosk site admits it."""

from __future__ import annotations

import http.client
import logging
import threading

import pytest
from twisted.internet import defer, reactor
from twisted.internet.defer import succeed
from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_platform.identity.principal import Principal
from peek_platform.web.app_site import deviceVortexResource
from peek_platform.web.site_auth import SiteAuth
from peek_plugin_base.testing.ReactorWait import spinReactorUntil, waitForDeferred
from vortex.transport import VORTEX_WS_PATH, Backoff
from vortex.VortexFactory import VortexFactory


def serveField(auth: SiteAuth | None, siteName: str = "field"):
    """A field (or office) vortex with its device endpoint behind ``auth``, on a loopback
    port."""
    field = VortexFactory(f"peek_{siteName}_service")
    root = Resource()
    resource = deviceVortexResource(lambda: field, siteName=siteName, auth=auth)
    root.putChild(VORTEX_WS_PATH, resource)
    site = Site(root)
    site.noisy = False
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    return field, port, f"ws://127.0.0.1:{port.getHost().port}/vortexws"


def teardown(*factories: VortexFactory, port) -> None:
    waitForDeferred(
        defer.gatherResults(
            [f.shutdown() for f in factories] + [defer.maybeDeferred(port.stopListening)]
        )
    )


@pytest.mark.parametrize("siteName", ["field", "office"])
def test_device_without_a_session_is_refused_with_close_code_4010(caplog, siteName):
    """No session: the device's link is closed with 4010 and the reason naming the site's
    login (seen on the device side), and no link comes up on either side."""
    auth = SiteAuth(
        siteName,
        lambda *a: succeed(Principal("local:x", "x", frozenset(), frozenset())),
        reactor,
        idleSeconds=60,
    )
    field, port, url = serveField(auth, siteName)
    device = VortexFactory("browser")
    caplog.set_level(logging.WARNING, logger="vortex.transport.connection_core")
    device.connect(url, secret=None, backoff=Backoff(initial=5, cap=5))
    try:
        # The device side hears the close code and the reason, as a browser does.
        spinReactorUntil(lambda: "closed by the peer or the network (code 4010" in caplog.text)
        assert f"log in to the {siteName} site first" in caplog.text
        assert field.remoteVortexes() == [] and device.remoteVortexes() == []
    finally:
        teardown(field, device, port=port)


def test_kiosk_site_admits_an_anonymous_device():
    """With logins off the same endpoint admits a device without any session."""
    field, port, url = serveField(None)
    device = VortexFactory("browser")
    device.connect(url, secret=None, backoff=Backoff(initial=0.01, cap=0.05))
    try:
        spinReactorUntil(lambda: bool(field.remoteVortexes()))
        assert field.remoteVortexes()[0].isDevice
    finally:
        teardown(field, device, port=port)


def test_plain_request_to_the_device_endpoint_gets_an_error_not_a_status_page():
    """A non-upgrade GET (even with ?redirect=) gets an HTTP error without autobahn's status
    page: no version disclosed, no redirect followed."""

    field, port, _url = serveField(None)
    outcome: list = []

    def get() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port.getHost().port, timeout=5)
        conn.request("GET", "/vortexws?redirect=https%3A%2F%2Fexample.org%2F")
        response = conn.getresponse()
        outcome.append((response.status, response.getheader("Location"), response.read()))
        conn.close()

    threading.Thread(target=get, daemon=True).start()
    try:
        spinReactorUntil(lambda: bool(outcome))
        status, location, body = outcome[0]
        assert status == 426  # Upgrade Required
        assert location is None
        assert b"autobahn" not in body.lower()
    finally:
        teardown(field, port=port)
