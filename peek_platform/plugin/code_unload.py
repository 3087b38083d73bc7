"""Forget a plugin's imported code so a runtime enable imports it afresh (docs/dev/loader.rst).

Python cannot truly unload a module: code elsewhere that kept a reference to one of the
plugin's modules, classes or functions would go on using the old code after a re-import.
So before a plugin is disabled at runtime the loader asks :func:`unloadBlocker`, which
looks through every other imported module for such a reference; a plugin that has one is
reported as needing a service restart and is left running, never half-unloaded.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from types import ModuleType

from vortex.Tuple import TupleRegistry, defaultTupleRegistry


def _ownedBy(moduleName: str, packages: frozenset[str]) -> bool:
    """Whether ``moduleName`` is one of ``packages`` or a submodule of one."""
    return any(moduleName == p or moduleName.startswith(p + ".") for p in packages)


def pluginModuleNames(packages: Iterable[str]) -> list[str]:
    """The imported modules (``sys.modules`` keys) of ``packages`` and their submodules."""
    owned = frozenset(packages)
    return [name for name in list(sys.modules) if _ownedBy(name, owned)]


def _referenceTo(value: object, owned: frozenset[str]) -> str | None:
    """The owned module ``value`` is, or was defined in; None when it is neither."""
    if isinstance(value, ModuleType):
        return value.__name__ if _ownedBy(value.__name__, owned) else None
    if isinstance(value, type) or callable(value):
        module = getattr(value, "__module__", None)
        if isinstance(module, str) and _ownedBy(module, owned):
            return module
    return None


def unloadBlocker(packages: Iterable[str]) -> str | None:
    """Why the code of ``packages`` cannot be forgotten safely, or None when it can.

    A module outside ``packages`` whose globals hold one of their modules, classes or
    functions would keep the old code alive after a re-import; the first one found is named.
    """
    owned = frozenset(packages)
    for name, module in list(sys.modules.items()):
        if module is None or _ownedBy(name, owned):
            continue
        try:
            values = list(vars(module).items())
        except TypeError:
            continue
        for attribute, value in values:
            found = _referenceTo(value, owned)
            if found is not None:
                return f"module {name} holds {attribute!r} from {found}"
    return None


def forgetPluginCode(
    packages: Iterable[str], registry: TupleRegistry = defaultTupleRegistry
) -> list[str]:
    """Drop the modules of ``packages`` from ``sys.modules`` and their tuple types from
    ``registry``, so the next import runs their code again; the module names dropped.

    The import system's directory caches are cleared too, so a package upgraded in place
    (``peek plugin upgrade``) is imported from the files now installed.
    """
    owned = frozenset(packages)
    registry.forgetModules(owned)
    names = pluginModuleNames(owned)
    for name in names:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return names
