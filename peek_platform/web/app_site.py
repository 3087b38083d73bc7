"""The field and office web sites: app shell, health, device vortex and plugin apps.

``AppSiteExtension`` is the ``ServiceExtension`` of the field and office services: it
listens on ``httpServer.<site>.sitePort`` before plugins load (their trees are looked up per
request, so they appear as they register) and stops listening after they have unloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import IResource, Resource

import vortex
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.http.static_files import OptionalStaticDirectory, StaticDirectory
from peek_platform.plugin.state import PluginStatus
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.services import LOGIC, SiteSpec
from peek_platform.web.app_shell import AppShellResource
from peek_platform.web.health import HealthResource, pluginsStartedCheck, vortexLinkCheck
from peek_platform.web.listening import SiteAddress, listenSite, newSite
from peek_platform.web.site_root import ChildrenOnly, WebSiteRoot
from peek_platform.web.templates import APP_ASSETS_DIR
from vortex.transport import VORTEX_WS_PATH
from vortex.VortexFactory import NoVortexException, VortexFactory

if TYPE_CHECKING:
    from peek_platform.plugin.extension import LoaderExtension
    from peek_platform.plugin.loader import PluginLoader

logger = logging.getLogger(__name__)

#: The browser vortex client's files (written by the vortex package), served at /vortex/js/.
VORTEX_JS_DIR = Path(vortex.__file__).resolve().parent / "js"


def vortexJsResource(directory: Path = VORTEX_JS_DIR) -> ChildrenOnly:
    """``/vortex/js/...``: the browser client, served whenever its directory exists."""
    return ChildrenOnly({b"js": OptionalStaticDirectory(directory)})


def pluginTitleLookup(loader: PluginLoader | None) -> Callable[[str], str]:
    """A function giving a plugin's ``plugin.title``, or its name when unknown."""

    def title(pluginName: str) -> str:
        plugin = loader.plugin(pluginName) if loader is not None else None
        metadata = getattr(plugin, "metadata", None)
        return metadata.title if metadata is not None else pluginName

    return title


def deviceVortexResource(
    factory: Callable[[], VortexFactory], *, siteName: str
) -> IResource | None:
    """A device vortex endpoint (browsers; no secret) to mount at ``/vortexws``.

    None, with a warning, when the process has no vortex (its extension did not start).
    """
    try:
        vortexFactory = factory()
    except NoVortexException as e:
        logger.warning("%s site: /vortexws is not served: %s", siteName, e)
        return None
    server = vortexFactory.listen(Resource(), secret=None, allowDevices=True)
    return server.resource


def buildAppSiteRoot(
    siteResources: SiteResources,
    serviceName: str,
    *,
    statuses: Callable[[], Iterable[PluginStatus]],
    pluginTitle: Callable[[str], str],
    vortexFactory: Callable[[], VortexFactory],
    vortexJsDir: Path = VORTEX_JS_DIR,
) -> WebSiteRoot:
    """The root of a field or office site (``/vortexws`` is mounted separately)."""
    health = HealthResource(
        serviceName,
        [pluginsStartedCheck(statuses), vortexLinkCheck(LOGIC.vortexName, vortexFactory)],
    )
    return WebSiteRoot(
        siteResources,
        AppShellResource(siteResources, serviceName, pluginTitle),
        publicChildren={
            b"health": health,
            b"static": StaticDirectory(str(APP_ASSETS_DIR)),
            b"vortex": vortexJsResource(vortexJsDir),
        },
    )


class AppSiteExtension(ServiceExtensionBase):
    """``ServiceExtension`` serving the field or office ``site`` with ``siteResources``.

    ``vortexFactory`` gives this process's vortex once its extension has started.
    """

    def __init__(
        self,
        site: SiteSpec,
        siteResources: SiteResources,
        *,
        vortexFactory: Callable[[], VortexFactory],
    ) -> None:
        self.site = site
        self.siteResources = siteResources
        self._vortexFactory = vortexFactory
        self._port: IListeningPort | None = None
        #: The site's root resource, once started; ``root.mount(name, resource,
        #: public=True)`` adds a platform path.
        self.root: WebSiteRoot | None = None

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Build the site, mount the device vortex and listen (``WebSiteError`` if it can't)."""
        address = SiteAddress.fromConfig(self.site, ctx.config)
        loader = ctx.loader
        root = buildAppSiteRoot(
            self.siteResources,
            ctx.spec.vortexName,
            statuses=loader.statuses if loader is not None else list,
            pluginTitle=pluginTitleLookup(loader),
            vortexFactory=self._vortexFactory,
        )
        self._port = listenSite(ctx.reactor, newSite(root, ctx.reactor), address)
        self.root = root

    def startAfterPlugins(self, ctx: ServiceContext) -> None:
        """Mount the device vortex once every plugin has registered its endpoints."""
        assert self.root is not None
        deviceVortex = deviceVortexResource(
            self._vortexFactory, siteName=self.siteResources.siteName
        )
        if deviceVortex is not None:
            self.root.mount(VORTEX_WS_PATH, deviceVortex, public=True)

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[LoaderExtension]:
        """No per-plugin hooks: plugin trees are looked up per request."""
        return []

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None] | None:
        """Stop listening (a Deferred that fires once the port is closed)."""
        port, self._port = self._port, None
        if port is None:
            return None
        return port.stopListening()
