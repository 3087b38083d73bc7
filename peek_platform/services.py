"""The description of each Peek service: names, command, home, sites, ports and hook names.

Everything that differs between services *by name* is written here once. Config keys,
the launcher's first-run config, the app shells, the entry-hook checks, each service's
``main.py`` and the test harness derive from these descriptions; each service package adds
only its composition (platform hook and extensions, ``peek_<svc>_service/service.py``).
See ``docs/dev/architecture.rst``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_base.client.PluginClientEntryHookABC import PluginClientEntryHookABC
from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC

HOME_ROOT_ENV = "PEEK_HOME_ROOT"

#: First port of the documented default port block (field 8000 ... data exchange 8011).
DEFAULT_BASE_PORT = 8000
#: Default TCP port of logic's data exchange (``dataExchange.port``).
DATA_EXCHANGE_DEFAULT_PORT = 8011


def homeRoot(environ: Mapping[str, str] | None = None) -> Path:
    """``$PEEK_HOME_ROOT`` when set, else the user's home directory."""
    env = os.environ if environ is None else environ
    root = env.get(HOME_ROOT_ENV)
    return Path(root).expanduser() if root else Path.home()


@dataclass(frozen=True)
class SiteSpec:
    """One web site a service serves: its name, title, default port and config keys."""

    #: Site name, used in config keys and as the plugin resource tree name (``field``...).
    name: str
    #: Human title shown on the site's pages.
    title: str
    #: Default of ``httpServer.<name>.sitePort``.
    defaultPort: int
    #: How the config key descriptions name the site, e.g. ``"the field web app site"``.
    description: str
    #: Default of ``httpServer.<name>.bindAddress`` (every interface).
    defaultBindAddress: str = "0.0.0.0"
    #: Extra advice appended to the bind address description.
    bindNote: str = ""
    #: A field or office app site: logins can be turned off for kiosks
    #: (``requireLogin``) and its session lifetimes are its own settings.
    appSite: bool = False

    @property
    def requireLoginKey(self) -> str:
        """The dotted config key saying whether the (app) site needs a login."""
        return f"httpServer.{self.name}.requireLogin"

    @property
    def anonymousPermissionsKey(self) -> str:
        """The dotted config key of the permissions devices hold when logins are off."""
        return f"httpServer.{self.name}.anonymousPermissions"

    @property
    def deviceEnrolmentKey(self) -> str:
        """The dotted config key of how the (app) site enrols new devices (browsers)."""
        return f"httpServer.{self.name}.deviceEnrolment"

    @property
    def sessionIdleKey(self) -> str:
        """The dotted config key of the (app) site's session idle lifetime, in minutes."""
        return f"httpServer.{self.name}.sessionIdleMinutes"

    @property
    def sessionMaxKey(self) -> str:
        """The dotted config key of the (app) site's session absolute lifetime, in hours."""
        return f"httpServer.{self.name}.sessionMaxHours"

    @property
    def offlineAppKey(self) -> str:
        """The dotted config key saying whether browsers keep the (app) site offline."""
        return f"httpServer.{self.name}.offlineApp"

    @property
    def offlineStorageBudgetKey(self) -> str:
        """The dotted config key of each plugin's offline tuple budget per user, in MiB."""
        return f"httpServer.{self.name}.offlineStoragePerPluginMB"

    @property
    def deviceLinksKey(self) -> str:
        """The dotted config key of the device links one address may hold (app sites)."""
        return f"httpServer.{self.name}.deviceLinksPerAddress"

    @property
    def newDeviceLinksPerMinuteKey(self) -> str:
        """The dotted config key of the device links one address may open a minute."""
        return f"httpServer.{self.name}.newDeviceLinksPerAddressPerMinute"

    @property
    def subscriptionsPerDeviceLinkKey(self) -> str:
        """The dotted config key of the live subscriptions one device link may hold."""
        return f"httpServer.{self.name}.subscriptionsPerDeviceLink"

    @property
    def actionsPerDeviceLinkKey(self) -> str:
        """The dotted config key of the actions one device link may push a second."""
        return f"httpServer.{self.name}.actionsPerDeviceLinkPerSecond"

    @property
    def bytesPerDeviceLinkKey(self) -> str:
        """The dotted config key of the bytes one device link may send a second."""
        return f"httpServer.{self.name}.bytesPerDeviceLinkPerSecond"

    @property
    def compressDeviceLinksKey(self) -> str:
        """The dotted config key saying whether browsers' vortex links are compressed."""
        return f"httpServer.{self.name}.compressDeviceLinks"

    @property
    def portKey(self) -> str:
        """The dotted config key of the site's TCP port."""
        return f"httpServer.{self.name}.sitePort"

    @property
    def bindKey(self) -> str:
        """The dotted config key of the address the site listens on."""
        return f"httpServer.{self.name}.bindAddress"


@dataclass(frozen=True)
class EntryHookSpec:
    """A plugin entry-hook function name and the ABC the class it returns must subclass."""

    name: str
    #: A subclass of ``PluginCommonEntryHookABC``; plain ``type`` because it is abstract
    #: and mypy refuses an abstract class where ``type[...]`` is expected.
    abc: type


@dataclass(frozen=True)
class ServiceSpec:
    """Static description of one Peek service."""

    #: Short key: ``logic``, ``field``, ``office``, ``agent`` or ``worker``; also the name of
    #: the service's composition in the ``peek.services`` entry-point group.
    key: str
    #: The vortex name the service identifies itself with.
    vortexName: str
    #: The console command that starts it.
    command: str
    #: The entry hooks looked up on a plugin package, modern first (legacy names after).
    entryHooks: tuple[EntryHookSpec, ...]
    #: Values of ``requiresServices`` in plugin_package.json that mean "runs here".
    requiresServicesKeys: frozenset[str]
    #: Name of the published-API attribute on entry hooks, modern first.
    publishedApiNames: tuple[str, ...]
    #: The web sites the service serves.
    sites: tuple[SiteSpec, ...] = ()
    #: Plugin resource trees of the service's platform hooks: every site, plus trees that
    #: are not web sites of their own (logic's ``logic`` tree for ``addLogicResource``).
    extraResourceTrees: tuple[str, ...] = ()

    @property
    def entryHookNames(self) -> tuple[str, ...]:
        """The entry-hook function names, modern first."""
        return tuple(hook.name for hook in self.entryHooks)

    @property
    def resourceTrees(self) -> tuple[str, ...]:
        """Names of the plugin resource trees the service's platform hooks register on."""
        return tuple(site.name for site in self.sites) + self.extraResourceTrees

    def site(self, name: str) -> SiteSpec:
        """The site called ``name``; ``KeyError`` naming this service's sites otherwise."""
        for site in self.sites:
            if site.name == name:
                return site
        names = ", ".join(site.name for site in self.sites) or "none"
        raise KeyError(f"the {self.key} service has no site {name!r} (its sites: {names})")

    @property
    def homeDirName(self) -> str:
        """Directory name of the service home, e.g. ``peek-logic-service.home``."""
        return f"{self.vortexName}.home"

    @property
    def logFileName(self) -> str:
        """File name of the service's rotating log inside its home."""
        return f"peek-{self.key}.log"

    def defaultHome(self, environ: Mapping[str, str] | None = None) -> Path:
        """Home directory: ``$PEEK_HOME_ROOT/<homeDirName>``, else ``~/<homeDirName>``."""
        return homeRoot(environ) / self.homeDirName


_CLIENT_HOOK = EntryHookSpec("peekClientEntryHook", PluginClientEntryHookABC)

LOGIC = ServiceSpec(
    key="logic",
    vortexName="peek-logic-service",
    command="run_peek_logic_service",
    entryHooks=(
        EntryHookSpec("peekLogicEntryHook", PluginLogicEntryHookABC),
        EntryHookSpec("peekServerEntryHook", PluginLogicEntryHookABC),
    ),
    requiresServicesKeys=frozenset({"logic", "storage", "admin", "server"}),
    publishedApiNames=("publishedLogicApi", "publishedServerApi"),
    sites=(
        SiteSpec(
            name="admin",
            title="Peek Admin",
            defaultPort=8010,
            description="the logic service's admin web site",
            bindNote=", 127.0.0.1 keeps it to this host",
        ),
    ),
    extraResourceTrees=("logic",),
)
FIELD = ServiceSpec(
    key="field",
    vortexName="peek-field-service",
    command="run_peek_field_service",
    entryHooks=(EntryHookSpec("peekFieldEntryHook", PluginFieldEntryHookABC), _CLIENT_HOOK),
    requiresServicesKeys=frozenset({"field", "client", "mobile"}),
    publishedApiNames=("publishedFieldApi", "publishedClientApi"),
    sites=(
        SiteSpec(
            name="field",
            title="Peek Field",
            defaultPort=8000,
            description="the field web app site",
            appSite=True,
        ),
    ),
)
OFFICE = ServiceSpec(
    key="office",
    vortexName="peek-office-service",
    command="run_peek_office_service",
    entryHooks=(EntryHookSpec("peekOfficeEntryHook", PluginOfficeEntryHookABC), _CLIENT_HOOK),
    requiresServicesKeys=frozenset({"office", "client", "desktop"}),
    publishedApiNames=("publishedOfficeApi", "publishedClientApi"),
    sites=(
        SiteSpec(
            name="office",
            title="Peek Office",
            defaultPort=8002,
            description="the office web app site",
            appSite=True,
        ),
    ),
)
AGENT = ServiceSpec(
    key="agent",
    vortexName="peek-agent-service",
    command="run_peek_agent_service",
    entryHooks=(EntryHookSpec("peekAgentEntryHook", PluginAgentEntryHookABC),),
    requiresServicesKeys=frozenset({"agent"}),
    publishedApiNames=("publishedAgentApi",),
)
WORKER = ServiceSpec(
    key="worker",
    vortexName="peek-worker-service",
    command="run_peek_worker_service",
    entryHooks=(EntryHookSpec("peekWorkerEntryHook", PluginWorkerEntryHookABC),),
    requiresServicesKeys=frozenset({"worker"}),
    publishedApiNames=("publishedWorkerApi",),
)

#: Every service, in the order the launcher starts them (logic first: the others link to it).
ALL_SERVICES: tuple[ServiceSpec, ...] = (LOGIC, FIELD, OFFICE, AGENT, WORKER)

SERVICES_BY_KEY: dict[str, ServiceSpec] = {spec.key: spec for spec in ALL_SERVICES}

#: Every ``requiresServices`` value the platform understands.
KNOWN_REQUIRES_SERVICES: frozenset[str] = frozenset().union(
    *(spec.requiresServicesKeys for spec in ALL_SERVICES)
)


def allSites() -> list[tuple[ServiceSpec, SiteSpec]]:
    """Every web site of the platform with the service that serves it, in service order."""
    return [(spec, site) for spec in ALL_SERVICES for site in spec.sites]


def serviceByKey(key: str) -> ServiceSpec:
    """Return the spec for ``key``; raise ``KeyError`` naming the valid keys otherwise."""
    try:
        return SERVICES_BY_KEY[key]
    except KeyError:
        valid = ", ".join(SERVICES_BY_KEY)
        raise KeyError(f"unknown service {key!r}; expected one of: {valid}") from None
