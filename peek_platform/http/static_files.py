"""Static files for the Peek web sites: fixed content types, no directory listings.

Browsers refuse an ES module served with a non-JavaScript type, and the type Twisted picks
comes from the host's ``/etc/mime.types``, which differs between machines; so the types of
the files a web app is made of are pinned here. Directories without an ``index.html`` are
not listed (a listing would show a plugin's private files to anyone).
"""

from __future__ import annotations

from pathlib import Path

from twisted.web import pages, static
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

#: Content types of the files web apps are built from, by lower-case extension.
WEB_CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/vnd.microsoft.icon",
    ".webp": "image/webp",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".wasm": "application/wasm",
    ".txt": "text/plain; charset=utf-8",
}


class StaticDirectory(static.File):
    """A ``static.File`` with pinned web content types that never lists a directory.

    Path segments are resolved by ``FilePath.child``, which refuses ``..`` and segments
    containing a separator (also when sent percent-encoded), so nothing outside the
    directory is reachable through a request path.
    """

    contentTypes = {**static.File.contentTypes, **WEB_CONTENT_TYPES}

    def directoryListing(self) -> IResource:
        """A directory without an index page is not found rather than listed."""
        return pages.notFound()


class OptionalStaticDirectory(Resource):
    """Serves a directory that may not exist yet (404 until it does); checked per request."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = Path(directory)

    def _current(self) -> StaticDirectory | None:
        if self.directory.is_dir():
            return StaticDirectory(str(self.directory))
        return None

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        """Files of the directory, or not found when it is absent."""
        current = self._current()
        if current is None:
            return pages.notFound()
        return current.getChild(path, request)

    def render(self, request: IRequest) -> bytes | int:
        """The directory itself is never listed."""
        return pages.notFound().render(request)
