"""Find a plugin's entry-hook function and check the class it returns (docs/dev/loader.rst)."""

from __future__ import annotations

import inspect
from types import ModuleType

from peek_platform.plugin.errors import PluginValidationError
from peek_platform.services import EntryHookSpec, ServiceSpec
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC


def entryHookClass(module: ModuleType, spec: ServiceSpec) -> type[PluginCommonEntryHookABC]:
    """Call the first of ``spec.entryHookNames`` the package defines; return a checked class."""
    pluginName = module.__name__
    where = getattr(module, "__file__", None) or pluginName
    for hookSpec in spec.entryHooks:
        hook = getattr(module, hookSpec.name, None)
        if hook is None:
            continue
        if not callable(hook):
            raise PluginValidationError(
                pluginName, f"{where}: {hookSpec.name} must be a function returning a class"
            )
        return _checkClass(pluginName, where, hookSpec, hook())
    names = " or ".join(f"{name}()" for name in spec.entryHookNames)
    raise PluginValidationError(
        pluginName,
        f"{where} defines no entry hook for the {spec.key} service; add {names} "
        "returning the plugin's entry hook class, or remove this service from "
        '"requiresServices"',
    )


def _checkClass(
    pluginName: str, where: str, hookSpec: EntryHookSpec, cls: object
) -> type[PluginCommonEntryHookABC]:
    """Refuse anything but a concrete subclass of the ABC that ``hookSpec`` promises."""
    base, hookName = hookSpec.abc, hookSpec.name
    baseName = f"{base.__module__}.{base.__qualname__}"
    # Every hookSpec.abc derives from PluginCommonEntryHookABC; naming it types ``cls``.
    if (
        not inspect.isclass(cls)
        or not issubclass(cls, base)
        or not issubclass(cls, PluginCommonEntryHookABC)
    ):
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
