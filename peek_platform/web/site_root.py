"""The root resource of a Peek web site: platform paths first, then plugins' trees.

Plugins' trees are looked up in the site's ``SiteResources`` on every request, because a
plugin that fails or unloads has its tree removed while the site keeps listening.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from twisted.web import pages
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.http.plugin_resources import SiteResources
from peek_platform.http.security_headers import applySecurityHeaders

#: Decides whether a request may reach a protected path: None to let it through, or the
#: resource that answers instead (a redirect to the login page, a 401, a 403).
Guard = Callable[[IRequest, bytes], IResource | None]


class ChildrenOnly(Resource):
    """A path level with fixed children only: anything else, and itself, is not found."""

    def __init__(self, children: Mapping[bytes, IResource]) -> None:
        super().__init__()
        for name, child in children.items():
            self.putChild(name, child)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        """Names without a child are not found."""
        return pages.notFound()

    def render(self, request: IRequest) -> bytes | int:
        """The level itself has no page."""
        return pages.notFound().render(request)


class WebSiteRoot(Resource):
    """Routes ``/`` to the index, fixed platform paths, and ``/<pluginName>/`` to plugins.

    ``publicChildren`` are reachable by anyone; everything else (the index,
    ``protectedChildren`` and plugin trees) passes ``guard`` first when one is given.
    Unknown names are not found (after the guard, so a protected site reveals nothing).
    """

    def __init__(
        self,
        siteResources: SiteResources,
        index: IResource,
        *,
        publicChildren: Mapping[bytes, IResource],
        protectedChildren: Mapping[bytes, IResource] | None = None,
        guard: Guard | None = None,
    ) -> None:
        super().__init__()
        self.siteResources = siteResources
        self.index = index
        self.publicChildren = dict(publicChildren)
        self.protectedChildren = dict(protectedChildren or {})
        self.guard = guard

    def mount(self, name: bytes, child: IResource, *, public: bool) -> None:
        """Add a platform path after construction (e.g. ``/vortexws`` once the vortex exists)."""
        (self.publicChildren if public else self.protectedChildren)[name] = child

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        """Every request passes here first: set the security headers, then route."""
        applySecurityHeaders(request)
        public = self.publicChildren.get(path)
        if public is not None:
            return public
        if self.guard is not None:
            denial = self.guard(request, path)
            if denial is not None:
                return denial
        if path == b"":
            return self.index
        protected = self.protectedChildren.get(path)
        if protected is not None:
            return protected
        try:
            pluginName = path.decode("ascii")
        except UnicodeDecodeError:
            return pages.notFound()
        pluginRoot = self.siteResources.resourceFor(pluginName)
        if pluginRoot is None:
            return pages.notFound()
        return pluginRoot

    def render(self, request: IRequest) -> bytes | int:
        """Only reached for a request without a path; answer it like ``/``."""
        return self.getChildWithDefault(b"", request).render(request)
