"""``VortexFactory.connect(headers=)``: a device's upgrade requests carry the given headers,
also when it relinks (how a logged-in device presents its session cookie again)."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_plugin_base.testing.ReactorWait import spinReactorUntil as spinUntil
from vortex.transport import Backoff
from vortex.VortexFactory import VORTEX_WS_PATH, VortexFactory

COOKIE = "peekSession=abc123"


class RecordingResource(Resource):
    """Wraps the vortex resource and keeps the ``Cookie`` header of every upgrade request."""

    isLeaf = True

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self.cookies: list[str | None] = []

    def render(self, request: Any) -> Any:
        cookie = request.getHeader("cookie")
        self.cookies.append(cookie.decode() if isinstance(cookie, bytes) else cookie)
        return self.inner.render(request)


def test_headers_go_with_every_upgrade_including_relinks() -> None:
    """The first link and the link made after the server dropped it both sent the cookie."""
    server = VortexFactory("headers-server")
    root = Resource()
    server.listen(root, secret=None, allowDevices=True)
    recorder = RecordingResource(root.children[VORTEX_WS_PATH])
    root.putChild(VORTEX_WS_PATH, recorder)
    site = Site(root)
    site.noisy = False
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    device = VortexFactory("headers-device")
    try:
        device.connect(
            f"ws://127.0.0.1:{port.getHost().port}/vortexws",
            secret=None,
            backoff=Backoff(initial=0.01, cap=0.05),
            headers={"Cookie": COOKIE},
        )
        spinUntil(lambda: server.remoteVortexes())
        for info in server.remoteVortexes():
            info.connection.close("the test drops the link")
        spinUntil(lambda: len(recorder.cookies) >= 2 and server.remoteVortexes())
        assert recorder.cookies[:2] == [COOKIE, COOKIE]
    finally:
        device.shutdown()
        server.shutdown()
        port.stopListening()
