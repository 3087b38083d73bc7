"""Build the pieces a service process builds, in a test: config, sites, platform hooks, loader.

The same assembly as ``run_peek_<svc>_service`` (``peek_platform.process.assemble``), minus
the process: ``config.json`` written into a test home and loaded, the service's resource
trees, the real platform hook of the installed service composition and a real
``PluginLoader``, with only the extensions the test asks for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from peek_platform.config import CONFIG_FILE_NAME, loadServiceConfig, nestDotted, writeConfigFile
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.process.assembly import (
    ServiceComposition,
    assemble,
    serviceComposer,
    siteTrees,
)
from peek_platform.process.context import (
    PlatformHookFactory,
    ServiceContext,
    ServiceExtension,
    ServiceReactor,
)
from peek_platform.services import ServiceSpec, serviceByKey


def serviceSpec(service: str | ServiceSpec) -> ServiceSpec:
    """The spec of ``service``, given as a spec or a key (``"logic"``, ``"field"``...)."""
    return service if isinstance(service, ServiceSpec) else serviceByKey(service)


def serviceSites(service: str | ServiceSpec) -> dict[str, SiteResources]:
    """Fresh, empty plugin resource trees of ``service``, by name."""
    return siteTrees(serviceSpec(service))


def platformHookFactory(
    service: str | ServiceSpec, sites: Mapping[str, SiteResources]
) -> PlatformHookFactory:
    """``factory(ctx, pluginName)`` building the service's real platform hook on ``sites``.

    Taken from the installed service composition. Its extensions are not started, so on
    logic ``submitCeleryTask`` fails with ``CeleryUnavailable``, as on a logic service whose
    Celery is not running.
    """
    spec = serviceSpec(service)
    return serviceComposer(spec)(spec, sites).platformHook


def makeServiceContext(
    service: str | ServiceSpec,
    home: Path,
    config: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[str] = (),
    reactor: ServiceReactor = None,
    extensions: Sequence[ServiceExtension] = (),
    sites: Mapping[str, SiteResources] | None = None,
) -> ServiceContext:
    """The ``ServiceContext`` a service process would run with, built in this process.

    Writes ``config`` (plus ``plugin.enabled = plugins``) to ``<home>/config.json`` and loads
    it with defaults; configures ``extensions`` and asks them for their loader hooks; builds a real
    ``PluginLoader`` for ``plugins`` with the service's platform hooks on ``sites`` (fresh
    trees by default). Nothing is loaded or started. ``reactor`` defaults to the global one.
    """
    spec = serviceSpec(service)
    if reactor is None:
        from twisted.internet import reactor
    home = Path(home)
    document = nestDotted({**(config or {}), "plugin.enabled": list(plugins)})
    writeConfigFile(home / CONFIG_FILE_NAME, document)
    loaded = loadServiceConfig(spec, home)
    hookFactory = platformHookFactory(spec, sites if sites is not None else serviceSites(spec))
    composition = ServiceComposition(platformHook=hookFactory, extensions=extensions)
    return assemble(spec, home, loaded, composition, reactor=reactor)
