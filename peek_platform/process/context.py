"""What a service process hands to its extensions: the context and the extension protocol.

Extensions are the seam through which the vortex, storage and Celery plug into a service
process: they configure before anything listens, start before any plugin loads, may do more
once every plugin has started, and stop after every plugin has unloaded (see
``docs/dev/architecture.rst``, "Extension phases").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from twisted.internet.defer import Deferred

from peek_platform.process.commands import ServiceCommands
from peek_platform.services import ServiceSpec
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC

if TYPE_CHECKING:
    from peek_platform.config import ServiceConfig
    from peek_platform.plugin.loader import LoaderExtension, PluginLoader


#: A Twisted reactor providing IReactorCore, IReactorTime, IReactorTCP, IReactorSSL,
#: IReactorThreads and IReactorProcess (or a test clock standing in for some of them).
#: zope interfaces cannot be intersected in one static type, so it stays dynamic.
ServiceReactor: TypeAlias = Any


@dataclass
class ServiceContext:
    """The running service: its spec, home, config, reactor and plugin loader."""

    spec: ServiceSpec
    home: Path
    config: ServiceConfig
    reactor: ServiceReactor
    #: The plugin loader; ``None`` only while ``loaderExtensions`` is being asked, because
    #: the loader is built from the extensions' answers.
    loader: PluginLoader | None = None
    #: The commands this process answers for operators (plugin control, diagnostics).
    commands: ServiceCommands = field(default_factory=ServiceCommands)


#: Builds the platform hook one plugin receives: ``factory(ctx, pluginName)``. Called by
#: the loader, so ``ctx.loader`` is set by then.
PlatformHookFactory = Callable[[ServiceContext, str], PeekPlatformCommonHookABC]


@runtime_checkable
class ServiceExtension(Protocol):
    """A platform feature wrapped around the plugins of one service process."""

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Validate and prepare settings before anything listens; return the config to use.

        Called in extension order before the reactor runs, each seeing the config the
        previous one returned. A ``ConfigError`` ends the process with exit status 2.
        """

    def startBeforePlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Start the feature; plugins load only after the returned Deferred fires."""

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[LoaderExtension]:
        """Hooks the plugin loader calls around each plugin (asked after ``configure``)."""

    def startAfterPlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Finish starting once every plugin has started (e.g. accept peers' messages)."""

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Stop the feature; called after every plugin has stopped and unloaded."""


class ServiceExtensionBase:
    """A :class:`ServiceExtension` whose steps do nothing; subclasses override what they need."""

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Nothing to check: the config as it is."""
        return ctx.config

    def startBeforePlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Nothing to start before the plugins."""
        return None

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[LoaderExtension]:
        """No per-plugin hooks."""
        return ()

    def startAfterPlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Nothing to start after the plugins."""
        return None

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Nothing to stop."""
        return None
