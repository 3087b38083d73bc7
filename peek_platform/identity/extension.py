"""Logic's identity extension: the user store, directories, recovery login and login RPC.

``configure`` settles the recovery admin's password (generated on first run) and checks
``ldap.directories``; ``startBeforePlugins`` opens the user store on the platform schema
(after storage migrated it) and starts the login and session re-validation RPCs that field
and office call. The admin
site checks its logins through :meth:`IdentityServiceExtension.check`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred

from peek_platform.config import ServiceConfig
from peek_platform.identity.authenticator import Authenticator
from peek_platform.identity.ldap_directory import LdapDirectory, directoriesFromConfig
from peek_platform.identity.login_rpc import loginRpc, stillAllowedRpc
from peek_platform.identity.permissions import Permission, knownPermissions
from peek_platform.identity.principal import Principal
from peek_platform.identity.recovery import (
    RecoveryCredentials,
    credentialsFromConfig,
    ensureRecoveryPassword,
)
from peek_platform.identity.store import IdentityStore
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.storage.extension import StorageServiceExtension
from vortex.VortexFactory import VortexFactory

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader

logger = logging.getLogger(__name__)


class IdentityServiceExtension(ServiceExtensionBase):
    """Who may log in on every site; runs on logic after storage and the vortex."""

    def __init__(
        self, storage: StorageServiceExtension, vortexFactory: Callable[[], VortexFactory]
    ) -> None:
        self._storage = storage
        self._vortexFactory = vortexFactory
        self._credentials: RecoveryCredentials | None = None
        self._directories: list[LdapDirectory] = []
        self._authenticator: Authenticator | None = None
        self._store: IdentityStore | None = None
        self._loader: PluginLoader | None = None
        self._rpcs: list[Any] = []

    @property
    def recovery(self) -> RecoveryCredentials:
        """The recovery admin's credentials (after ``configure``)."""
        if self._credentials is None:
            raise RuntimeError("identity is not configured: configure has not run")
        return self._credentials

    @property
    def store(self) -> IdentityStore:
        """The local users and roles (after ``startBeforePlugins``)."""
        if self._store is None:
            raise RuntimeError("identity is not started: startBeforePlugins has not run")
        return self._store

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Settle the recovery password (generated and saved on first run); check LDAP."""
        config, generated = ensureRecoveryPassword(ctx.config)
        self._credentials = credentialsFromConfig(config)
        if generated:
            logger.warning(
                "Generated a password for the recovery admin user %r and saved it as "
                "admin.recoveryPassword in %s; use it to log in to the admin, field and "
                "office sites",
                self._credentials.user,
                config.path,
            )
        self._directories = [LdapDirectory(s) for s in directoriesFromConfig(config)]
        return config

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Open the user store and answer field's and office's login calls."""
        self._store = IdentityStore(self._storage.platformDb.dbEngine)
        self._loader = ctx.loader
        self._authenticator = Authenticator(
            self.recovery,
            self._store,
            self._directories,
            allPermissions=lambda: frozenset(self.permissions()),
        )
        factory = self._vortexFactory()
        self._rpcs = [
            loginRpc().start(funcSelf=self._authenticator.authenticate, vortexFactory=factory),
            stillAllowedRpc().start(
                funcSelf=self._authenticator.stillAllowed, vortexFactory=factory
            ),
        ]

    def permissions(self) -> dict[str, Permission]:
        """Every permission a role may grant, by name: the platform's and those the plugins
        enabled on this service declare (the admin Roles page lists them)."""
        loader = self._loader
        plugins = [loader.plugin(s.name) for s in loader.statuses()] if loader else []
        metadata = [p.metadata for p in plugins if p is not None and p.metadata is not None]
        return knownPermissions(metadata)

    @property
    def authenticator(self) -> Authenticator:
        """Who may log in (after ``startBeforePlugins``)."""
        if self._authenticator is None:
            raise RuntimeError("identity is not started: startBeforePlugins has not run")
        return self._authenticator

    def check(self, userName: str, password: str, site: str) -> Deferred[Principal]:
        """Check a login off the reactor thread; the principal or a refusal."""
        return self._storage.inThread(self.authenticator.authenticate, userName, password, site)

    def revalidate(self, userIds: list[str]) -> Deferred[dict[str, Principal | None]]:
        """Which users of live sessions may keep them, checked off the reactor thread."""
        return self._storage.inThread(self.authenticator.stillAllowed, userIds)

    def stopAfterPlugins(self, ctx: ServiceContext) -> None:
        """Stop answering field's and office's calls."""
        for rpc in self._rpcs:
            rpc.shutdown()
        self._rpcs = []
