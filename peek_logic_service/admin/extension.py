"""The logic service's ``ServiceExtension`` for the admin site: credentials, listen, stop."""

from __future__ import annotations

import logging
from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort

from peek_logic_service.admin.auth import AdminAuth
from peek_logic_service.admin.live_data import AdminLiveData, SettingsStorageLike, StatusViewLike
from peek_logic_service.admin.recovery import (
    RecoveryCredentials,
    credentialsFromConfig,
    ensureRecoveryPassword,
)
from peek_logic_service.admin.site import buildAdminSiteRoot
from peek_platform.config import ServiceConfig
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.web.app_site import deviceVortexResource, pluginTitleLookup
from peek_platform.web.listening import SiteAddress, listenSite, newSite
from peek_platform.web.site_root import WebSiteRoot
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)


class AdminSiteExtension(ServiceExtensionBase):
    """Logic ``ServiceExtension`` serving the admin site of ``adminSite``.

    The recovery password is settled in :meth:`configure`, before anything listens: a config
    file that cannot take a generated password then ends the process with status 2, like
    any other config error. ``vortexFactory`` gives this process's vortex once started.
    """

    def __init__(
        self,
        adminSite: SiteResources,
        *,
        vortexFactory: Callable[[], VortexFactory],
        statusView: StatusViewLike | None = None,
        storage: SettingsStorageLike | None = None,
    ) -> None:
        self.adminSite = adminSite
        self._vortexFactory = vortexFactory
        self._statusView = statusView
        self._storage = storage
        #: What the admin pages observe and push on the vortex, once started.
        self.liveData: AdminLiveData | None = None
        self._credentials: RecoveryCredentials | None = None
        self._port: IListeningPort | None = None
        #: The authentication state, once started (phase-2 resources may use it).
        self.auth: AdminAuth | None = None
        #: The site's root resource, once started; ``root.mount(name, resource,
        #: public=False)`` adds a platform path behind login.
        self.root: WebSiteRoot | None = None

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Settle the recovery password, generating and saving one on first run."""
        config, generated = ensureRecoveryPassword(ctx.config)
        credentials = credentialsFromConfig(config)
        if generated:
            logger.warning(
                "Generated a password for the admin recovery user %r and saved it as "
                "admin.recoveryPassword in %s; use it to log in to the admin site",
                credentials.user,
                config.path,
            )
        self._credentials = credentials
        return config

    def _settledCredentials(self) -> RecoveryCredentials:
        if self._credentials is None:
            raise RuntimeError("the admin site is not configured: configure has not run")
        return self._credentials

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Build the site, mount the admin vortex behind login, and listen."""
        address = SiteAddress.fromConfig(ctx.spec.site("admin"), ctx.config)
        self.auth = AdminAuth(
            self._settledCredentials(),
            ctx.reactor,
            idleSeconds=float(ctx.config["admin.sessionIdleMinutes"]) * 60,
        )
        pluginTitle = pluginTitleLookup(ctx.loader)
        deviceVortex = deviceVortexResource(self._vortexFactory, siteName="admin")
        self.root = root = buildAdminSiteRoot(
            self.adminSite,
            self.auth,
            ctx.spec.vortexName,
            statuses=ctx.loader.statuses if ctx.loader is not None else list,
            pluginTitle=pluginTitle,
            deviceVortex=deviceVortex,
        )
        self._port = listenSite(ctx.reactor, newSite(root, ctx.reactor), address)
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

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None] | None:
        """Stop the admin pages' data and listening (a Deferred that fires once closed)."""
        if self.liveData is not None:
            self.liveData.shutdown()
            self.liveData = None
        port, self._port = self._port, None
        if port is None:
            return None
        return port.stopListening()
