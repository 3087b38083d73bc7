"""What the field and office apps need to work offline: the app manifest and service worker.

``GET /app-info.json`` (public) describes the site for its pages and its service worker:
the site, the browser vortex name, the platform and plugin versions, the files to keep for
offline use and the cache each goes in, and the offline tuple storage budget.
``GET /service-worker.js`` (public, at the root so its scope covers the whole site) is the
plain-JS worker in ``assets/app/service-worker.js`` with that manifest prepended, so the
script's bytes change whenever a version or a file changes, and browsers install the new
worker (and its caches) on their next online load. See ``docs/admin/offline-data.rst``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from peek_platform import __version__ as PLATFORM_VERSION
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.web.templates import APP_ASSETS_DIR
from peek_plugin_base.PeekVortexUtil import peekFieldAppName, peekOfficeAppName

#: The service worker's code; the manifest is prepended when it is served.
SERVICE_WORKER_SOURCE = APP_ASSETS_DIR / "service-worker.js"
#: The browser vortex name of each app site's pages.
APP_VORTEX_NAMES: dict[str, str] = {"field": peekFieldAppName, "office": peekOfficeAppName}
#: At most this many files of one plugin's static dir are kept offline (the rest load
#: from the network only), so a plugin shipping a large tree cannot fill a device.
MAX_PLUGIN_FILES = 500
#: Paths of the platform's own pages that the worker keeps offline besides the shell files.
SHELL_PAGES = ("/app-info.json",)


@dataclass(frozen=True)
class OfflineSettings:
    """A site's offline settings (``httpServer.<site>.offline*`` keys)."""

    #: Whether browsers keep the app for offline use; false serves a worker that removes
    #: itself and its caches.
    enabled: bool = True
    #: Budget of each plugin's stored tuples per user on a device, in bytes.
    storageBudgetBytes: int = 20 * 1024 * 1024


def _files(directory: Path, limit: int) -> Iterator[Path]:
    """Up to ``limit`` files below ``directory`` in a stable order, hidden ones left out."""
    count = 0
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        if path.is_file():
            yield path
            count += 1
            if count >= limit:
                return


def _urls(base: str, directory: Path, limit: int, digest: Any) -> list[str]:
    """The URLs of ``directory``'s files under ``base``, feeding each file's name, size and
    modification time to ``digest`` (a changed file changes the cache name)."""
    urls = []
    for path in _files(directory, limit):
        relative = path.relative_to(directory).as_posix()
        stat = path.stat()
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        urls.append(base if relative == "index.html" else base + relative)
    return urls


def _cacheLabel(text: str) -> str:
    """``text`` with only the characters safe in a cache name."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def appManifest(
    siteResources: SiteResources,
    *,
    pluginVersion: Callable[[str], str],
    settings: OfflineSettings,
    vortexJsDir: Path,
    serviceName: str,
) -> dict[str, Any]:
    """The manifest of the site's app: what to keep offline and under which cache names.

    Each cache name carries the site, the platform or plugin version and a short hash of
    the files' names, sizes and times, so both an upgrade and an edited file give new
    caches, and the worker deletes the old ones when it takes over.
    """
    site = siteResources.siteName
    shellDigest = hashlib.sha256(PLATFORM_VERSION.encode())
    shellUrls = [
        *_urls("/static/", APP_ASSETS_DIR, MAX_PLUGIN_FILES, shellDigest),
        *_urls("/vortex/js/", vortexJsDir, MAX_PLUGIN_FILES, shellDigest),
        *SHELL_PAGES,
    ]
    shellUrls = [url for url in shellUrls if url != "/static/service-worker.js"]
    caches = [
        {
            "name": f"peek-{site}-shell-{_cacheLabel(PLATFORM_VERSION)}-"
            f"{shellDigest.hexdigest()[:10]}",
            "urls": shellUrls,
        }
    ]
    plugins = {}
    for name in siteResources.pluginNames():
        root = siteResources.resourceFor(name)
        version = pluginVersion(name)
        plugins[name] = version
        staticDir = root.staticDir if root is not None else None
        if staticDir is None:
            continue
        digest = hashlib.sha256(f"{name}\0{version}".encode())
        urls = _urls(f"/{name}/", staticDir, MAX_PLUGIN_FILES, digest)
        caches.append(
            {
                "name": f"peek-{site}-plugin-{_cacheLabel(name)}-{_cacheLabel(version)}-"
                f"{digest.hexdigest()[:10]}",
                "plugin": name,
                "urls": urls,
            }
        )
    return {
        "site": site,
        "service": serviceName,
        "vortexName": APP_VORTEX_NAMES.get(site, f"peek-{site}-app"),
        "platformVersion": PLATFORM_VERSION,
        "plugins": plugins,
        "offline": {
            "enabled": settings.enabled,
            "storageBudgetBytes": settings.storageBudgetBytes,
            "pagesCache": f"peek-{site}-pages",
            "caches": caches if settings.enabled else [],
        },
    }


class AppInfoResource(Resource):
    """``GET /app-info.json``: the app manifest (public: it names no user)."""

    isLeaf = True

    def __init__(self, manifest: Callable[[], dict[str, Any]]) -> None:
        super().__init__()
        self.manifest = manifest

    def render_GET(self, request: IRequest) -> bytes:
        """The manifest as JSON, revalidated on every use."""
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-cache")
        return json.dumps(self.manifest(), sort_keys=True).encode()


class ServiceWorkerResource(Resource):
    """``GET /service-worker.js``: the worker with the current manifest prepended."""

    isLeaf = True

    def __init__(
        self, manifest: Callable[[], dict[str, Any]], source: Path = SERVICE_WORKER_SOURCE
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self.source = source

    def render_GET(self, request: IRequest) -> bytes:
        """The script; never cached by HTTP caches, so browsers see a change at once."""
        request.setHeader(b"Content-Type", b"text/javascript")
        request.setHeader(b"Cache-Control", b"no-cache")
        head = "const PEEK_APP = " + json.dumps(self.manifest(), sort_keys=True) + ";\n"
        return head.encode() + self.source.read_bytes()
