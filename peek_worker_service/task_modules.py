"""Which Celery task modules a worker imports: those of the plugins enabled for the worker.

The Celery child process computes this itself from ``plugin.enabled``, with the same rules
as the plugin loader of the service process: a plugin counts when its
``plugin_package.json`` names the worker in ``requiresServices``, it loads after the
plugins it requires, and a plugin that fails (or requires one that failed or does not run
on the worker) contributes no tasks.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peek_platform.plugin.entry_hooks import entryHookClass
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata, runsOnService
from peek_platform.plugin.ordering import orderPlugins
from peek_platform.services import WORKER
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC


@dataclass
class WorkerTaskPlan:
    """The result: plugins whose tasks run here, their task modules, and what was left out."""

    #: Plugins contributing tasks, in load order.
    plugins: list[str] = field(default_factory=list)
    #: Dotted task module names (``celeryAppIncludes``), in plugin load order.
    modules: list[str] = field(default_factory=list)
    #: Plugin name → why it contributes no tasks (skipped plugins are not listed).
    problems: dict[str, str] = field(default_factory=dict)


def _packageDir(pluginName: str) -> Path:
    """Directory of the plugin package, found without importing it."""
    spec = importlib.util.find_spec(pluginName)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"package {pluginName} not found on sys.path (or not a package)")
    return Path(next(iter(spec.submodule_search_locations)))


def _includesOf(pluginName: str, rootDir: Path) -> list[str]:
    """Import the plugin, construct its worker entry hook and read ``celeryAppIncludes``."""
    hookClass = entryHookClass(importlib.import_module(pluginName), WORKER)
    hook = hookClass(pluginName, str(rootDir), None)
    assert isinstance(hook, PluginWorkerEntryHookABC)  # WORKER's entry hook ABC
    includes = hook.celeryAppIncludes
    if not isinstance(includes, list | tuple) or not all(isinstance(m, str) for m in includes):
        raise TypeError(f"celeryAppIncludes must be a list of module names, got {includes!r}")
    return list(includes)


def planWorkerTasks(enabled: Sequence[str]) -> WorkerTaskPlan:
    """Compute the task modules of ``enabled`` plugins that run on the worker service."""
    plan = WorkerTaskPlan()
    metadata: dict[str, PluginMetadata] = {}
    for name in dict.fromkeys(enabled):
        try:
            meta = readPluginMetadata(name, _packageDir(name))
        except Exception as e:
            plan.problems[name] = f"{type(e).__name__}: {e}"
            continue
        if runsOnService(meta, WORKER):
            metadata[name] = meta
    requires = {name: meta.requiresPlugins for name, meta in metadata.items()}
    order, errors = orderPlugins(list(metadata), requires)
    plan.problems.update(errors)
    for name in order:
        if name in plan.problems:
            continue
        missing = [dep for dep in requires[name] if dep not in plan.plugins]
        if missing:
            plan.problems[name] = f"requires {', '.join(missing)}, which has no tasks here"
            continue
        try:
            plan.modules.extend(_includesOf(name, metadata[name].path.parent))
        except Exception as e:
            plan.problems[name] = f"{type(e).__name__}: {e}"
            continue
        plan.plugins.append(name)
    return plan
