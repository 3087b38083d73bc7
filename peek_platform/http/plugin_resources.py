"""Per-plugin resource trees on each web site, mounted by the site at ``/<pluginName>/``.

A plugin adds resources through its platform hook (``addAdminResource``,
``addFieldStaticResourceDir``, ...). Each call lands in that plugin's own
:class:`PluginSiteResource` inside the site's :class:`SiteResources` registry, so the
platform can drop everything a plugin registered when it fails or unloads.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from twisted.web import pages
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.http.static_files import StaticDirectory
from peek_platform.plugin.errors import PluginError


class PluginResourceError(PluginError):
    """A plugin asked a site for something it cannot serve (missing dir, duplicate path)."""


class _PathNode(Resource):
    """An intermediate path segment created for a multi-segment ``pluginSubPath``."""


class PluginSiteResource(Resource):
    """What one plugin serves on one site: explicit children, then its static directory."""

    def __init__(self, siteName: str, pluginName: str) -> None:
        super().__init__()
        self.siteName = siteName
        self.pluginName = pluginName
        self._static: StaticDirectory | None = None

    @property
    def staticDir(self) -> Path | None:
        """The directory served for paths no explicit resource claims, if any."""
        return Path(self._static.path) if self._static is not None else None

    def addResource(self, pluginSubPath: bytes | str, child: IResource) -> None:
        """Serve ``child`` at ``/<pluginName>/<pluginSubPath>`` (segments split on ``/``)."""
        segments = self._segments(pluginSubPath)
        node: Resource = self
        for depth, segment in enumerate(segments[:-1]):
            existing = node.children.get(segment)
            if existing is None:
                existing = _PathNode()
                node.putChild(segment, existing)
            elif not isinstance(existing, _PathNode):
                taken = b"/".join(segments[: depth + 1]).decode()
                self._fail(f"cannot add below /{self.pluginName}/{taken}, a resource is there")
            node = existing
        if segments[-1] in node.children:
            self._fail(
                f"/{self.pluginName}/{b'/'.join(segments).decode()} is already registered; "
                "each sub path can be added once"
            )
        node.putChild(segments[-1], child)

    def addStaticResourceDir(self, directory: str | Path) -> None:
        """Serve the files of ``directory`` at ``/<pluginName>/`` (one directory per site)."""
        path = Path(directory)
        if not path.is_dir():
            self._fail(f"static resource dir {path} does not exist or is not a directory")
        if self._static is not None:
            self._fail(
                f"already serves static dir {self.staticDir}; a plugin has one static "
                f"dir per site, so {path} was not added"
            )
        self._static = StaticDirectory(str(path.resolve()))

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        """Paths not claimed by an explicit resource come from the static directory."""
        if self._static is not None:
            return self._static.getChild(path, request)
        return pages.notFound()

    def render(self, request: IRequest) -> bytes | int:
        """``/<pluginName>`` itself renders the static directory (its index) if there is one."""
        if self._static is not None:
            return self._static.render(request)
        return pages.notFound().render(request)

    def _segments(self, pluginSubPath: bytes | str) -> list[bytes]:
        raw = pluginSubPath.encode() if isinstance(pluginSubPath, str) else pluginSubPath
        if not isinstance(raw, bytes):
            self._fail(f"pluginSubPath must be bytes, not {type(pluginSubPath).__name__}")
        segments = raw.strip(b"/").split(b"/")
        if any(segment in (b"", b".", b"..") for segment in segments):
            self._fail(
                f"pluginSubPath {raw!r} is not a valid path; use non-empty segments such "
                'as b"api" or b"api/v1"'
            )
        return segments

    def _fail(self, message: str) -> NoReturn:
        raise PluginResourceError(self.pluginName, f"{self.siteName} site: {message}")


class SiteResources:
    """The plugins' resource trees of one site (``admin``, ``logic``, ``field``, ``office``)."""

    def __init__(self, siteName: str) -> None:
        self.siteName = siteName
        self._roots: dict[str, PluginSiteResource] = {}

    def pluginRoot(self, pluginName: str) -> PluginSiteResource:
        """The plugin's tree on this site, created empty on first use."""
        root = self._roots.get(pluginName)
        if root is None:
            root = self._roots[pluginName] = PluginSiteResource(self.siteName, pluginName)
        return root

    def resourceFor(self, pluginName: str) -> PluginSiteResource | None:
        """The tree the site mounts at ``/<pluginName>/``, or None if the plugin has none."""
        return self._roots.get(pluginName)

    def pluginNames(self) -> list[str]:
        """Names of the plugins with a tree on this site, sorted."""
        return sorted(self._roots)

    def release(self, pluginName: str) -> None:
        """Drop everything ``pluginName`` registered on this site (no-op if nothing)."""
        self._roots.pop(pluginName, None)
