"""Base of every plugin entry hook: identity, package config and the four lifecycle steps."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, Generic, cast

from typing_extensions import TypeVar

from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PluginPackageFileConfig import PluginPackageFileConfig

#: The platform hook type a service hands its plugins (``PeekLogicPlatformHookABC``...).
PlatformHookT = TypeVar(
    "PlatformHookT",
    bound=PeekPlatformCommonHookABC,
    covariant=True,
    default=PeekPlatformCommonHookABC,
)


class PluginCommonEntryHookABC(Generic[PlatformHookT], metaclass=ABCMeta):
    """What the platform calls on a plugin: ``load → start → stop → unload``.

    Each lifecycle method may return ``None``, a Deferred or a coroutine; the platform
    waits for it before moving on. Each service's entry hook ABC names the type of its
    platform hook, e.g. ``PluginLogicEntryHookABC(PluginCommonEntryHookABC[
    PeekLogicPlatformHookABC])``, which is what :attr:`platform` returns.
    """

    def __init__(
        self, pluginName: str, pluginRootDir: str, platform: PlatformHookT | None = None
    ) -> None:
        self._pluginName = pluginName
        self._pluginRootDir = pluginRootDir
        self._platform = platform
        self._packageCfg: PluginPackageFileConfig | None = None

    @property
    def name(self) -> str:
        """The plugin's package name, e.g. ``peek_plugin_noop``."""
        return self._pluginName

    @property
    def rootDir(self) -> str:
        """Absolute directory of the plugin package (where plugin_package.json lives)."""
        return self._pluginRootDir

    @property
    def platform(self) -> PlatformHookT:
        """The platform hook of the service this plugin runs on."""
        # None only for a hook built outside a running service (a test, or the worker
        # reading celeryAppIncludes); the platform always passes its hook.
        return cast(PlatformHookT, self._platform)

    @property
    def packageCfg(self) -> Any:
        """The json-cfg object of this plugin's plugin_package.json."""
        if self._packageCfg is None:
            self._packageCfg = PluginPackageFileConfig(self._pluginRootDir)
        return self._packageCfg.config

    @property
    def title(self) -> str:
        """The human title from ``plugin.title`` in plugin_package.json."""
        return self.packageCfg.plugin.title(self._pluginName)

    @abstractmethod
    def load(self) -> object:
        """Prepare the plugin; on logic this runs just after its storage is migrated."""

    @abstractmethod
    def start(self) -> object:
        """Start the plugin: create controllers, handlers and subscriptions."""

    @abstractmethod
    def stop(self) -> object:
        """Stop everything ``start`` began."""

    @abstractmethod
    def unload(self) -> object:
        """Release whatever ``load`` acquired, before the plugin is unlinked."""
