"""The logic service's ``ServiceExtension`` for the admin site: login, listen, stop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import IResource

from peek_logic_service.admin.devices_pages import DevicesAdmin
from peek_logic_service.admin.diagnostics_pages import DiagnosticsAdmin
from peek_logic_service.admin.live_data import AdminLiveData, SettingsStorageLike, StatusViewLike
from peek_logic_service.admin.metrics_history import MetricsHistory
from peek_logic_service.admin.pages import JsonResource
from peek_logic_service.admin.plugins_pages import PluginsAdmin
from peek_logic_service.admin.site import buildAdminSiteRoot
from peek_logic_service.admin.users_pages import IdentityAdmin
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.permissions import ADMIN_PERMISSION
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.web.app_site import deviceVortexResource, pluginTitleLookup
from peek_platform.web.listening import SiteAddress, listenSite, newSite
from peek_platform.web.session_file import SessionFile, sessionFilePath
from peek_platform.web.site_auth import LoginCheck, Revalidate, SiteAuth
from peek_platform.web.site_root import WebSiteRoot
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OverviewFigures:
    """Where the Overview charts' figures beyond logic's vortex come from."""

    #: How many devices are online on the field and office sites now.
    devicesOnline: Callable[[], int]
    #: How many Celery tasks logic submitted have finished so far (succeeded or failed).
    tasksFinished: Callable[[], int]


class AdminSiteExtension(ServiceExtensionBase):
    """Logic ``ServiceExtension`` serving the admin site of ``adminSite``.

    Logins are checked by ``check`` (logic's identity) and need the ``admin`` permission;
    ``vortexFactory`` gives this process's vortex once started; ``identityAdmin``, called
    once started, gives the Users and Roles pages' operations, ``devicesAdmin`` those of
    the Logged in and Devices pages, ``pluginsAdmin`` the Plugins page's buttons,
    ``diagnosticsAdmin`` the diagnostics download; ``overviewFigures`` feeds the Overview's
    charts (``metrics_history.py``).
    """

    def __init__(
        self,
        adminSite: SiteResources,
        *,
        check: LoginCheck,
        revalidate: Revalidate | None = None,
        vortexFactory: Callable[[], VortexFactory],
        statusView: StatusViewLike | None = None,
        storage: SettingsStorageLike | None = None,
        identityAdmin: Callable[[], IdentityAdmin] | None = None,
        devicesAdmin: Callable[[], DevicesAdmin] | None = None,
        pluginsAdmin: Callable[[], PluginsAdmin] | None = None,
        diagnosticsAdmin: Callable[[], DiagnosticsAdmin] | None = None,
        overviewFigures: OverviewFigures | None = None,
    ) -> None:
        self.adminSite = adminSite
        self._check = check
        self._revalidate = revalidate
        self._vortexFactory = vortexFactory
        self._statusView = statusView
        self._storage = storage
        self._identityAdmin = identityAdmin
        self._devicesAdmin = devicesAdmin
        self._pluginsAdmin = pluginsAdmin
        self._diagnosticsAdmin = diagnosticsAdmin
        self._overviewFigures = overviewFigures
        #: The Overview page's charts' samples, once started (with ``overviewFigures``).
        self.history: MetricsHistory | None = None
        #: What the admin pages observe and push on the vortex, once started.
        self.liveData: AdminLiveData | None = None
        self._port: IListeningPort | None = None
        #: The authentication state, once started (phase-2 resources may use it).
        self.auth: SiteAuth | None = None
        #: The site's root resource, once started; ``root.mount(name, resource,
        #: public=False)`` adds a platform path behind login.
        self.root: WebSiteRoot | None = None

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Build the site, mount the admin vortex behind login, and listen."""
        address = SiteAddress.fromConfig(ctx.spec.site("admin"), ctx.config)
        self.auth = SiteAuth(
            "admin",
            self._check,
            ctx.reactor,
            idleSeconds=float(ctx.config["admin.sessionIdleMinutes"]) * 60,
            maxSeconds=float(ctx.config["admin.sessionMaxHours"]) * 3600,
            requiredPermission=ADMIN_PERMISSION,
            revalidate=self._revalidate,
            sessionFile=SessionFile(sessionFilePath(ctx.home, "admin")),
        )
        pluginTitle = pluginTitleLookup(ctx.loader)
        deviceVortex = deviceVortexResource(
            self._vortexFactory,
            siteName="admin",
            auth=self.auth,
            compress=bool(ctx.config[ctx.spec.site("admin").compressDeviceLinksKey]),
        )
        self.root = root = buildAdminSiteRoot(
            self.adminSite,
            self.auth,
            ctx.spec.vortexName,
            statuses=ctx.loader.statuses if ctx.loader is not None else list,
            pluginTitle=pluginTitle,
            deviceVortex=deviceVortex,
            moreApi={
                **(self._identityAdmin().resources(self.auth) if self._identityAdmin else {}),
                **(self._devicesAdmin().resources(self.auth) if self._devicesAdmin else {}),
                **(self._pluginsAdmin().resources(self.auth) if self._pluginsAdmin else {}),
                **(self._diagnosticsAdmin().resources(self.auth) if self._diagnosticsAdmin else {}),
                **self._startHistory(ctx),
            },
        )
        self._port = listenSite(ctx.reactor, newSite(root, ctx.reactor), address)
        self.auth.startExpiryChecks()
        if deviceVortex is not None:
            self.liveData = AdminLiveData(
                self._vortexFactory(),
                statusView=self._statusView,
                storage=self._storage,
                config=ctx.config,
                logPath=ctx.home / ctx.spec.logFileName,
                pluginTitle=pluginTitle,
                clock=ctx.reactor,
            )
            self.liveData.start()

    def _startHistory(self, ctx: ServiceContext) -> dict[bytes, IResource]:
        """Start sampling the Overview's figures; ``/api/metrics-history`` serving them."""
        figures = self._overviewFigures
        if figures is None:
            return {}
        history = self.history = MetricsHistory(
            self._vortexFactory, figures.devicesOnline, figures.tasksFinished, clock=ctx.reactor
        )
        history.start()
        return {b"metrics-history": JsonResource(lambda request: history.document())}

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None] | None:
        """Stop the admin pages' data and listening (a Deferred that fires once closed)."""
        if self.history is not None:
            self.history.stop()
            self.history = None
        if self.auth is not None:
            self.auth.stopExpiryChecks()
        if self.liveData is not None:
            self.liveData.shutdown()
            self.liveData = None
        port, self._port = self._port, None
        if port is None:
            return None
        return port.stopListening()
