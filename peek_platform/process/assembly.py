"""Build a runnable service from its description and config: one path for every service.

A service package contributes only its *composition* (``peek_<svc>_service/service.py``):
the platform hook each plugin receives and the service's extensions. It is registered under
the ``peek.services`` entry-point group by the service's key, so the platform and the test
harness find it without importing a service package (``docs/dev/architecture.rst``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from peek_platform.config import ServiceConfig
from peek_platform.diagnostics.collector import registerDiagnostics
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.control_commands import PluginControlCommands
from peek_platform.plugin.loader import PluginLoader
from peek_platform.process.context import (
    PlatformHookFactory,
    ServiceContext,
    ServiceExtension,
    ServiceReactor,
)
from peek_platform.services import ServiceSpec

#: The entry-point group naming each service's ``compose`` function by service key.
SERVICES_ENTRY_POINT_GROUP = "peek.services"

#: A service's plugin resource trees by name (``"admin"``, ``"logic"``, ``"field"``...).
SiteTrees = Mapping[str, SiteResources]


@dataclass(frozen=True)
class ServiceComposition:
    """What a service package adds to its description: platform hooks and extensions."""

    #: Builds the platform hook one plugin receives: ``platformHook(ctx, pluginName)``.
    platformHook: PlatformHookFactory
    #: The service's extensions, in start order (they stop in reverse).
    extensions: Sequence[ServiceExtension]


#: ``compose(spec, sites)``: a service package's composition for the description ``spec``
#: on the plugin resource trees ``sites`` (one per ``spec.resourceTrees``).
Composer = Callable[[ServiceSpec, SiteTrees], ServiceComposition]


class ServiceNotInstalled(LookupError):
    """No ``peek.services`` entry point names a service's composition."""


def siteTrees(spec: ServiceSpec) -> dict[str, SiteResources]:
    """Fresh, empty plugin resource trees of ``spec``'s service, by name."""
    return {name: SiteResources(name) for name in spec.resourceTrees}


def serviceComposer(spec: ServiceSpec) -> Composer:
    """The installed ``compose`` of ``spec``'s service; ``ServiceNotInstalled`` if none."""
    found = entry_points(group=SERVICES_ENTRY_POINT_GROUP, name=spec.key)
    for entryPoint in found:
        composer: Composer = entryPoint.load()
        return composer
    raise ServiceNotInstalled(
        f"no {SERVICES_ENTRY_POINT_GROUP!r} entry point named {spec.key!r}: the "
        f"{spec.key} service package is not installed (reinstall peek-platform)"
    )


def assemble(
    spec: ServiceSpec,
    home: Path,
    config: ServiceConfig,
    composition: ServiceComposition,
    *,
    reactor: ServiceReactor,
) -> ServiceContext:
    """The service's context with a configured set of extensions and a built plugin loader.

    Runs every extension's ``configure`` in order (a ``ConfigError`` propagates, nothing
    listens yet), asks them for their loader hooks, and builds the ``PluginLoader`` whose
    platform hooks come from ``composition.platformHook``, and adds the runtime plugin
    control commands and ``diagnostics.collect`` to ``ctx.commands``. Nothing is loaded or
    started.
    """
    ctx = ServiceContext(spec=spec, home=home, config=config, reactor=reactor)
    for extension in composition.extensions:
        ctx.config = extension.configure(ctx)
    loaderExtensions = [
        hook for extension in composition.extensions for hook in extension.loaderExtensions(ctx)
    ]
    ctx.loader = PluginLoader(
        spec,
        list(ctx.config["plugin.enabled"]),
        lambda pluginName, rootDir, loader: composition.platformHook(ctx, pluginName),
        reactor=reactor,
        deadlineSeconds=float(ctx.config["plugin.lifecycleDeadlineSeconds"]),
        extensions=loaderExtensions,
    )
    PluginControlCommands(ctx.loader, ctx.config.path).register(ctx.commands)
    registerDiagnostics(ctx, composition.extensions)
    return ctx
