"""The in-memory browser used to test web resources."""

from __future__ import annotations

from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_platform.testing.InMemoryBrowser import InMemoryBrowser, parseResponse


class CookieJarPage(Resource):
    """Sets a cookie on /set, deletes it on /delete, echoes the Cookie header otherwise."""

    isLeaf = True

    def render_GET(self, request):
        if request.path == b"/set":
            request.addCookie(b"c", b"v1", path=b"/")
        elif request.path == b"/delete":
            request.addCookie(b"c", b"", max_age=b"0", path=b"/")
        return request.getHeader(b"cookie") or b"-"

    def render_POST(self, request):
        return request.args[b"field"][0]


def test_browser_keeps_and_deletes_cookies():
    """Cookies set by the site are sent back until the site expires them."""
    browser = InMemoryBrowser(Site(CookieJarPage()))
    browser.get("/set")
    assert browser.get("/echo").body == b"c=v1"
    browser.get("/delete")
    assert browser.get("/echo").body == b"-"


def test_browser_posts_forms_and_sees_client_address():
    """Form fields arrive in request.args."""
    browser = InMemoryBrowser(Site(CookieJarPage()))
    assert browser.post("/", form={"field": "value"}).body == b"value"


def test_chunked_response_is_decoded():
    """A chunked body is reassembled."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    response = parseResponse(raw)
    assert (response.code, response.body) == (200, b"abcde")
