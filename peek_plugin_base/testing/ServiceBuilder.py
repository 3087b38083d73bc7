"""Build the pieces a service process builds, in a test: config, sites, platform hooks, loader.

The same construction as ``run_peek_<svc>_service`` (``peek_platform.process.runner``),
minus the process: ``config.json`` written into a test home and loaded, the site resource
trees of the service, the real platform hook per plugin and a real ``PluginLoader``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from peek_platform.config import CONFIG_FILE_NAME, loadServiceConfig, writeConfigFile
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.loader import PluginLoader
from peek_platform.process.context import PlatformHookFactory, ServiceContext, ServiceExtension
from peek_platform.services import AGENT, FIELD, LOGIC, OFFICE, WORKER, ServiceSpec, serviceByKey

#: The site resource trees each service serves plugin resources on.
SITE_NAMES: dict[str, tuple[str, ...]] = {
    LOGIC.key: ("admin", "logic"),
    FIELD.key: ("field",),
    OFFICE.key: ("office",),
    AGENT.key: (),
    WORKER.key: (),
}


def serviceSpec(service: str | ServiceSpec) -> ServiceSpec:
    """The spec of ``service``, given as a spec or a key (``"logic"``, ``"field"``...)."""
    return service if isinstance(service, ServiceSpec) else serviceByKey(service)


def serviceSites(service: str | ServiceSpec) -> dict[str, SiteResources]:
    """Fresh, empty site resource trees of ``service``, by site name."""
    return {name: SiteResources(name) for name in SITE_NAMES[serviceSpec(service).key]}


def platformHookFactory(
    service: str | ServiceSpec, sites: Mapping[str, SiteResources]
) -> PlatformHookFactory:
    """``factory(ctx, pluginName)`` building the service's real platform hook on ``sites``.

    Logic's hook has no Celery submitter: ``submitCeleryTask`` fails with
    ``CeleryUnavailable``, as on a logic service whose Celery is not running.
    """
    key = serviceSpec(service).key
    if key == LOGIC.key:
        from peek_logic_service.platform_hook import LogicPlatformHook

        return lambda ctx, name: LogicPlatformHook(
            ctx.home,
            ctx.config,
            name,
            ctx.loader,
            adminSite=sites["admin"],
            logicSite=sites["logic"],
        )
    if key == FIELD.key:
        from peek_field_service.platform_hook import FieldPlatformHook

        return lambda ctx, name: FieldPlatformHook(
            ctx.home, ctx.config, name, ctx.loader, fieldSite=sites["field"]
        )
    if key == OFFICE.key:
        from peek_office_service.platform_hook import OfficePlatformHook

        return lambda ctx, name: OfficePlatformHook(
            ctx.home, ctx.config, name, ctx.loader, officeSite=sites["office"]
        )
    if key == AGENT.key:
        from peek_agent_service.platform_hook import AgentPlatformHook

        return lambda ctx, name: AgentPlatformHook(ctx.home, ctx.config, name, ctx.loader)
    from peek_worker_service.platform_hook import WorkerPlatformHook

    return lambda ctx, name: WorkerPlatformHook(ctx.home, ctx.config, name, ctx.loader)


def nestConfig(config: Mapping[str, Any]) -> dict[str, Any]:
    """A ``config.json`` document from ``config``, whose keys may be dotted (``"a.b": 1``).

    Nested dicts and dotted keys can be mixed; both merge into one document.
    """
    document: dict[str, Any] = {}
    for key, value in config.items():
        *parents, leaf = key.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"config key {key!r}: {part!r} is set to a value, not a section")
        if isinstance(value, Mapping) and isinstance(node.get(leaf), dict):
            node[leaf].update(nestConfig(value))
        else:
            node[leaf] = nestConfig(value) if isinstance(value, Mapping) else value
    return document


def makeServiceContext(
    service: str | ServiceSpec,
    home: Path,
    config: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[str] = (),
    reactor: Any = None,
    extensions: Sequence[ServiceExtension] = (),
    sites: Mapping[str, SiteResources] | None = None,
) -> ServiceContext:
    """The ``ServiceContext`` a service process would run with, built in this process.

    Writes ``config`` (plus ``plugin.enabled = plugins``) to ``<home>/config.json`` and loads
    it with defaults; asks ``extensions`` for their loader hooks; builds a real
    ``PluginLoader`` for ``plugins`` with the service's platform hooks on ``sites`` (fresh
    trees by default). Nothing is loaded or started. ``reactor`` defaults to the global one.
    """
    spec = serviceSpec(service)
    if reactor is None:
        from twisted.internet import reactor
    home = Path(home)
    document = nestConfig({**(config or {}), "plugin.enabled": list(plugins)})
    writeConfigFile(home / CONFIG_FILE_NAME, document)
    loaded = loadServiceConfig(spec, home)
    ctx = ServiceContext(spec=spec, home=home, config=loaded, reactor=reactor)
    loaderExtensions = [hook for ext in extensions for hook in ext.loaderExtensions(ctx)]
    hookFactory = platformHookFactory(spec, sites if sites is not None else serviceSites(spec))
    ctx.loader = PluginLoader(
        spec,
        list(loaded["plugin.enabled"]),
        lambda pluginName, rootDir, loader: hookFactory(ctx, pluginName),
        reactor=reactor,
        deadlineSeconds=float(loaded["plugin.lifecycleDeadlineSeconds"]),
        extensions=loaderExtensions,
    )
    return ctx
