"""The platform hook object each plugin receives: shared behaviour of every service.

Each service subclasses :class:`PlatformHookBase` together with its ABC from
``peek_plugin_base`` (``peek_<svc>_service/platform_hook.py``); the service passes a
factory building one hook per plugin to the
:class:`~peek_platform.plugin.loader.PluginLoader`.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peek_platform.config import ConfigLookup
from peek_platform.http.plugin_resources import PluginSiteResource, SiteResources
from peek_platform.services import ServiceSpec
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PeekPlatformFileStorageHookABC import PeekPlatformFileStorageHookABC
from peek_plugin_base.PeekPlatformServerInfoHookABC import PeekPlatformServerInfoHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader

logger = logging.getLogger(__name__)

#: Directory under the service home holding one storage directory per plugin.
PLUGIN_DATA_DIR = "plugin_data"


class PlatformHookBase(PeekPlatformCommonHookABC, PeekPlatformFileStorageHookABC):
    """Plugin API lookup, service id, file storage and release of per-plugin registrations.

    ``config`` is any mapping indexed by dotted keys (``config["dataExchange.host"]``),
    such as the service's ``ServiceConfig``.
    """

    def __init__(
        self,
        spec: ServiceSpec,
        home: Path,
        config: ConfigLookup,
        pluginName: str,
        loader: PluginLoader,
    ) -> None:
        self._spec = spec
        self._home = Path(home)
        self._config = config
        self._pluginName = pluginName
        self._loader = loader
        self._serviceId = f"{spec.vortexName}:{socket.gethostname()}:{os.getpid()}"
        self._usedSites: list[SiteResources] = []
        self._foreignRoots: dict[str, PluginSiteResource] = {}

    @property
    def pluginName(self) -> str:
        """The plugin this hook belongs to."""
        return self._pluginName

    def getOtherPluginApi(self, pluginName: str) -> object | None:
        """The API ``pluginName`` publishes on this service; None if it is not loaded."""
        return self._loader.getPluginApi(pluginName)

    @property
    def serviceId(self) -> str:
        """``<vortexName>:<hostname>:<pid>``: unique per service process, stable for its life."""
        return self._serviceId

    @property
    def fileStorageDirectory(self) -> Path:
        """``<home>/plugin_data/<pluginName>``, created when first asked for."""
        path = self._home / PLUGIN_DATA_DIR / self._pluginName
        path.mkdir(parents=True, exist_ok=True)
        return path

    def releaseRegistrations(self) -> None:
        """Remove every resource tree this plugin registered on the service's sites."""
        while self._usedSites:
            self._usedSites.pop().release(self._pluginName)

    def _siteRoot(self, site: SiteResources) -> PluginSiteResource:
        """This plugin's tree on ``site``, remembered so it can be released."""
        if site not in self._usedSites:
            self._usedSites.append(site)
        return site.pluginRoot(self._pluginName)

    def _foreignSiteRoot(self, legacyName: str, servingService: str) -> PluginSiteResource:
        """A detached, never-served tree for a site another service serves; logged once."""
        root = self._foreignRoots.get(legacyName)
        if root is None:
            logger.info(
                "%s: %s resources are served by the %s service, not by %s; ignored here",
                self._pluginName,
                legacyName,
                servingService,
                self._spec.key,
            )
            siteName = f"{legacyName} (not served by {self._spec.key})"
            root = self._foreignRoots[legacyName] = PluginSiteResource(siteName, self._pluginName)
        return root

    def _configValue(self, key: str, hint: str) -> Any:
        """Read ``key`` from the service config; a missing key is an error naming it."""
        try:
            return self._config[key]
        except KeyError:
            raise LookupError(
                f"the {self._spec.key} service config has no {key!r}; {hint}"
            ) from None


class ConfigServerInfoHook(PeekPlatformServerInfoHookABC):
    """Logic service location read from ``dataExchange.host``/``dataExchange.port``."""

    _configValue: Any

    @property
    def peekLogicHost(self) -> str:
        """Host of the logic service's dataExchange site."""
        return str(self._configValue("dataExchange.host", "set it in config.json"))

    @property
    def peekLogicHttpPort(self) -> int:
        """TCP port of the logic service's dataExchange site."""
        return int(self._configValue("dataExchange.port", "set it in config.json"))
