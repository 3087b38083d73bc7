"""The field and office web sites: app shell, health, device vortex and plugin apps.

``AppSiteExtension`` is the ``ServiceExtension`` of the field and office services: it
listens on ``httpServer.<site>.sitePort`` before plugins load (their trees are looked up per
request, so they appear as they register) and stops listening after they have unloaded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IReactorTime
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

import vortex
from peek_platform.bulk.field import BulkSyncExtension
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.http.static_files import OptionalStaticDirectory, StaticDirectory
from peek_platform.identity.device_rpc import (
    admitDeviceRpc,
    deviceGateThroughLogic,
    deviceStatesRpc,
)
from peek_platform.identity.devices import DeviceGate
from peek_platform.identity.login_rpc import (
    loginRpc,
    loginThroughLogic,
    revalidateThroughLogic,
    stillAllowedRpc,
)
from peek_platform.metrics.extension import MetricsExtension
from peek_platform.plugin.state import PluginStatus
from peek_platform.process.assembly import ServiceComposition, SiteTrees
from peek_platform.process.context import PlatformHookFactory, ServiceContext, ServiceExtensionBase
from peek_platform.services import LOGIC, ServiceSpec, SiteSpec
from peek_platform.vortex.extension import DataExchangeClientExtension
from peek_platform.vortex.tuple_cache import TupleCacheExtension
from peek_platform.web.app_shell import AppShellResource
from peek_platform.web.device_limits import DeviceLinkLimits, DeviceLinkLimitSettings
from peek_platform.web.device_pages import devicePages
from peek_platform.web.health import HealthResource, pluginsStartedCheck, vortexLinkCheck
from peek_platform.web.listening import SiteAddress, listenSite, newSite
from peek_platform.web.login_pages import LoginResource, LogoutResource
from peek_platform.web.offline_app import (
    AppInfoResource,
    OfflineSettings,
    ServiceWorkerResource,
    appManifest,
)
from peek_platform.web.session_file import SessionFile, sessionFilePath
from peek_platform.web.session_links import SessionLinks
from peek_platform.web.site_auth import LoginCheck, Revalidate, SiteAuth
from peek_platform.web.site_root import ChildrenOnly, WebSiteRoot
from peek_platform.web.site_sessions import SiteSessionsLink
from peek_platform.web.templates import APP_ASSETS_DIR
from vortex.RequestIdentity import RequestIdentity
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


def pluginVersionLookup(loader: PluginLoader | None) -> Callable[[str], str]:
    """A function giving a plugin's ``plugin.version``, or ``"0"`` when unknown."""

    def version(pluginName: str) -> str:
        plugin = loader.plugin(pluginName) if loader is not None else None
        metadata = getattr(plugin, "metadata", None)
        return metadata.version if metadata is not None else "0"

    return version


def deviceVortexResource(
    factory: Callable[[], VortexFactory],
    *,
    siteName: str,
    auth: SiteAuth | None = None,
    anonymousPermissions: Iterable[str] = (),
    limits: DeviceLinkLimitSettings | None = None,
    clock: IReactorTime | None = None,
    compress: bool = True,
) -> IResource | None:
    """A device vortex endpoint (browsers; no secret) to mount at ``/vortexws``.

    With ``auth`` each link belongs to the login session that opened it, carries its user's
    identity and closes when that session ends, and a link without a session is refused
    with ``CLOSE_LOGIN_REQUIRED``; without, every device is anonymous and holds
    ``anonymousPermissions``. With ``limits`` (counted on ``clock``) an address over its
    link limits is refused, and each link is held to the per-link quotas. ``compress``
    accepts the browsers' offer of permessage-deflate. None, with a warning, when the
    process has no vortex (its extension did not start).
    """
    try:
        vortexFactory = factory()
    except NoVortexException as e:
        logger.warning("%s site: /vortexws is not served: %s", siteName, e)
        return None
    anonymous = RequestIdentity(None, None, None, siteName, frozenset(anonymousPermissions))
    links: SessionLinks | None = None

    def identityAt(address: str) -> RequestIdentity | None:
        return anonymous if links is None else links.identityAt(address)

    def admit(address: str) -> str | None:
        return None if links is None else links.admit(address)

    server = vortexFactory.listen(
        Resource(),
        secret=None,
        allowDevices=True,
        deviceIdentity=identityAt,
        deviceQuota=None if limits is None else limits.quota,
        admitDevice=admit,
        permessageDeflate=compress,
    )
    if auth is not None:
        links = SessionLinks(auth, server, clock=vortexFactory.reactor)
    resource: IResource = server.resource if links is None else links
    if limits is not None:
        if clock is None:
            raise ValueError(f"{siteName} site: device link limits need a clock")
        resource = DeviceLinkLimits(resource, server, limits, clock, siteName=siteName)
    if auth is not None:
        auth.answerUnauthenticated(VORTEX_WS_PATH, resource)
    return resource


def buildAppSiteRoot(
    siteResources: SiteResources,
    serviceName: str,
    *,
    statuses: Callable[[], Iterable[PluginStatus]],
    pluginTitle: Callable[[str], str],
    vortexFactory: Callable[[], VortexFactory],
    auth: SiteAuth | None = None,
    title: str = "Peek",
    vortexJsDir: Path = VORTEX_JS_DIR,
    pluginVersion: Callable[[str], str] = lambda name: "0",
    offline: OfflineSettings | None = None,
) -> WebSiteRoot:
    """The root of a field or office site (``/vortexws`` is mounted separately).

    With ``auth`` the shell, plugin apps, ``/api`` and ``/vortexws`` need a login; the
    health page, the login page, the static files, the app manifest and the service worker
    stay public (they name no user).
    """

    def manifest() -> dict[str, object]:
        return appManifest(
            siteResources,
            pluginVersion=pluginVersion,
            settings=offline if offline is not None else OfflineSettings(),
            vortexJsDir=vortexJsDir,
            serviceName=serviceName,
        )

    health = HealthResource(
        serviceName,
        [pluginsStartedCheck(statuses), vortexLinkCheck(LOGIC.vortexName, vortexFactory)],
    )
    public: dict[bytes, IResource] = {
        b"health": health,
        b"static": StaticDirectory(str(APP_ASSETS_DIR)),
        b"vortex": vortexJsResource(vortexJsDir),
        b"app-info.json": AppInfoResource(manifest),
        b"service-worker.js": ServiceWorkerResource(manifest),
    }
    protected: dict[bytes, IResource] = {}
    if auth is not None:
        public[b"login"] = LoginResource(auth, title=title)
        protected[b"logout"] = LogoutResource(auth)
        protected[b"api"] = ChildrenOnly({b"session": SessionInfoResource(auth)})
        if auth.devices is not None:
            protected[b"device"] = devicePages(auth, title=title)
    return WebSiteRoot(
        siteResources,
        AppShellResource(siteResources, serviceName, pluginTitle, auth),
        publicChildren=public,
        protectedChildren=protected,
        guard=auth.guard if auth is not None else None,
    )


class SessionInfoResource(Resource):
    """``GET /api/session``: the logged-in user and the session's CSRF token, as JSON."""

    isLeaf = True

    def __init__(self, auth: SiteAuth) -> None:
        super().__init__()
        self.auth = auth

    def render_GET(self, request: IRequest) -> bytes:
        """``{"user", "userId", "permissions", "csrfToken"}`` (behind the guard)."""
        session = self.auth.sessionFor(request, touch=False)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        if session is None:
            return b"{}"
        principal = session.principal
        return json.dumps(
            {
                "user": principal.userName,
                "userId": principal.userId,
                "permissions": sorted(principal.permissions),
                "csrfToken": session.csrfToken,
            }
        ).encode()


class AppSiteExtension(ServiceExtensionBase):
    """``ServiceExtension`` serving the field or office ``site`` with ``siteResources``.

    ``vortexFactory`` gives this process's vortex once its extension has started;
    ``check`` checks logins (logic's login RPC) unless the site's ``requireLogin`` is off;
    ``deviceGate(site, policy)`` gives the gate enrolling the devices of those logins.
    """

    def __init__(
        self,
        site: SiteSpec,
        siteResources: SiteResources,
        *,
        vortexFactory: Callable[[], VortexFactory],
        check: LoginCheck | None = None,
        revalidate: Revalidate | None = None,
        deviceGate: Callable[[str, str], DeviceGate] | None = None,
    ) -> None:
        self.site = site
        self.siteResources = siteResources
        self._vortexFactory = vortexFactory
        self._check = check
        self._revalidate = revalidate
        self._deviceGate = deviceGate
        #: Reports the site's sessions to logic and obeys its orders, once started.
        self.sessionsLink: SiteSessionsLink | None = None
        #: Who may use the site, once started (None when ``requireLogin`` is off).
        self.auth: SiteAuth | None = None
        self._port: IListeningPort | None = None
        #: The site's root resource, once started; ``root.mount(name, resource,
        #: public=True)`` adds a platform path.
        self.root: WebSiteRoot | None = None

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Build the site, mount the device vortex and listen (``WebSiteError`` if it can't)."""
        address = SiteAddress.fromConfig(self.site, ctx.config)
        loader = ctx.loader
        self.auth = self._siteAuth(ctx)
        root = buildAppSiteRoot(
            self.siteResources,
            ctx.spec.vortexName,
            statuses=loader.statuses if loader is not None else list,
            pluginTitle=pluginTitleLookup(loader),
            vortexFactory=self._vortexFactory,
            auth=self.auth,
            title=self.site.title,
            pluginVersion=pluginVersionLookup(loader),
            offline=OfflineSettings(
                enabled=bool(ctx.config[self.site.offlineAppKey]),
                storageBudgetBytes=int(
                    float(ctx.config[self.site.offlineStorageBudgetKey]) * 1024 * 1024
                ),
            ),
        )
        self._port = listenSite(ctx.reactor, newSite(root, ctx.reactor), address)
        self.root = root
        if self.auth is not None:
            self.auth.startExpiryChecks()

    def startAfterPlugins(self, ctx: ServiceContext) -> None:
        """Mount the device vortex once every plugin has registered its endpoints."""
        assert self.root is not None
        deviceVortex = deviceVortexResource(
            self._vortexFactory,
            siteName=self.siteResources.siteName,
            auth=self.auth,
            anonymousPermissions=ctx.config[self.site.anonymousPermissionsKey],
            limits=DeviceLinkLimitSettings.fromConfig(self.site, ctx.config),
            clock=ctx.reactor,
            compress=bool(ctx.config[self.site.compressDeviceLinksKey]),
        )
        if deviceVortex is not None:
            self.root.mount(VORTEX_WS_PATH, deviceVortex, public=self.auth is None)
        if self.auth is not None:
            self.sessionsLink = SiteSessionsLink(self.auth, self._vortexFactory(), ctx.reactor)
            self.sessionsLink.start()

    def _siteAuth(self, ctx: ServiceContext) -> SiteAuth | None:
        """The site's login state, or None (with a warning) when logins are turned off."""
        site, config = self.site, ctx.config
        if not bool(config[site.requireLoginKey]):
            logger.warning(
                "%s site: %s is false, so anyone who can reach %s may use it without logging in",
                site.name,
                site.requireLoginKey,
                site.description,
            )
            return None
        if self._check is None:
            raise RuntimeError(f"{site.name} site: logins are required but nothing checks them")
        return SiteAuth(
            site.name,
            self._check,
            ctx.reactor,
            idleSeconds=float(config[site.sessionIdleKey]) * 60,
            maxSeconds=float(config[site.sessionMaxKey]) * 3600,
            revalidate=self._revalidate,
            devices=(
                self._deviceGate(site.name, str(config[site.deviceEnrolmentKey]))
                if self._deviceGate is not None
                else None
            ),
            sessionFile=SessionFile(sessionFilePath(ctx.home, site.name)),
        )

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[LoaderExtension]:
        """No per-plugin hooks: plugin trees are looked up per request."""
        return []

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None] | None:
        """Stop listening (a Deferred that fires once the port is closed)."""
        if self.sessionsLink is not None:
            self.sessionsLink.stop()
            self.sessionsLink = None
        if self.auth is not None:
            self.auth.stopExpiryChecks()
        port, self._port = self._port, None
        if port is None:
            return None
        return port.stopListening()


def appServiceComposition(
    spec: ServiceSpec, sites: SiteTrees, platformHook: PlatformHookFactory
) -> ServiceComposition:
    """The composition of an app service (field, office): a link to logic, then an app site
    for each of ``spec``'s sites, whose logins and devices logic checks over that link."""
    vortex = DataExchangeClientExtension()
    check = loginThroughLogic(loginRpc(), lambda: vortex.factory)
    revalidate = revalidateThroughLogic(stillAllowedRpc(), lambda: vortex.factory)
    admitRpc, statesRpc = admitDeviceRpc(), deviceStatesRpc()

    def deviceGate(site: str, policy: str) -> DeviceGate:
        """The device gate of ``site``, enrolling under ``policy``, asking logic."""
        return deviceGateThroughLogic(
            admitRpc, statesRpc, lambda: vortex.factory, site=site, policy=policy
        )

    appSites = [
        AppSiteExtension(
            site,
            sites[site.name],
            vortexFactory=lambda: vortex.factory,
            check=check,
            revalidate=revalidate,
            deviceGate=deviceGate,
        )
        for site in spec.sites
    ]
    metrics = MetricsExtension(vortexFactory=lambda: vortex.factory, sites=appSites)
    tupleCache = TupleCacheExtension(vortexFactory=lambda: vortex.factory)
    # After the sites: it mounts /bulk on their roots.
    bulk = BulkSyncExtension(vortexFactory=lambda: vortex.factory, sites=appSites)
    return ServiceComposition(
        platformHook=platformHook, extensions=[vortex, tupleCache, *appSites, bulk, metrics]
    )
