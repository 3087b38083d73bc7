"""Find a plugin's entry-hook function and check the class it returns (DESIGN.md §4.2)."""

from __future__ import annotations

import inspect
from types import ModuleType

from peek_platform.plugin.errors import PluginValidationError
from peek_platform.services import ServiceSpec
from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_base.client.PluginClientEntryHookABC import PluginClientEntryHookABC
from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC

#: The ABC the class returned by each entry-hook function must subclass.
ENTRY_HOOK_ABCS: dict[str, type[PluginCommonEntryHookABC]] = {
    "peekLogicEntryHook": PluginLogicEntryHookABC,
    "peekServerEntryHook": PluginLogicEntryHookABC,
    "peekFieldEntryHook": PluginFieldEntryHookABC,
    "peekOfficeEntryHook": PluginOfficeEntryHookABC,
    "peekClientEntryHook": PluginClientEntryHookABC,
    "peekAgentEntryHook": PluginAgentEntryHookABC,
    "peekWorkerEntryHook": PluginWorkerEntryHookABC,
}


def entryHookClass(module: ModuleType, spec: ServiceSpec) -> type[PluginCommonEntryHookABC]:
    """Call the first of ``spec.entryHookNames`` the package defines; return a checked class."""
    pluginName = module.__name__
    where = getattr(module, "__file__", None) or pluginName
    for hookName in spec.entryHookNames:
        hook = getattr(module, hookName, None)
        if hook is None:
            continue
        if not callable(hook):
            raise PluginValidationError(
                pluginName, f"{where}: {hookName} must be a function returning a class"
            )
        return _checkClass(pluginName, where, hookName, hook())
    names = " or ".join(f"{name}()" for name in spec.entryHookNames)
    raise PluginValidationError(
        pluginName,
        f"{where} defines no entry hook for the {spec.key} service; add {names} "
        "returning the plugin's entry hook class, or remove this service from "
        '"requiresServices"',
    )


def _checkClass(pluginName: str, where: str, hookName: str, cls: object) -> type:
    """Refuse anything but a concrete subclass of the ABC that ``hookName`` promises."""
    base = ENTRY_HOOK_ABCS[hookName]
    baseName = f"{base.__module__}.{base.__qualname__}"
    if not inspect.isclass(cls) or not issubclass(cls, base):
        raise PluginValidationError(
            pluginName,
            f"{where}: {hookName}() returned {cls!r}; it must return a subclass of {baseName}",
        )
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise PluginValidationError(
            pluginName,
            f"{where}: {cls.__qualname__} (from {hookName}()) leaves abstract methods "
            f"unimplemented: {', '.join(missing)}; implement them",
        )
    return cls
