"""Real Chromium's websocket to a field site is compressed: the browser offers
permessage-deflate by itself and the site accepts it by default."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

_OPEN_VORTEX_SOCKET = """() => new Promise((resolve, reject) => {
    const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/vortexws");
    ws.onopen = () => { resolve(ws.extensions); ws.close(); };
    ws.onerror = () => reject(new Error("the websocket to /vortexws failed"));
})"""


def test_chromium_link_to_the_field_site_negotiates_compression(context, login):
    """A logged-in page's websocket to /vortexws reports permessage-deflate, with the small
    client window the site asks for."""
    page = login(context.new_page(), site="field")
    extensions = page.evaluate(_OPEN_VORTEX_SOCKET)
    assert extensions == "permessage-deflate; client_max_window_bits=12"
