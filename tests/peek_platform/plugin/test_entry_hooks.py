"""Entry-hook lookup and the checks on the class it returns."""

from __future__ import annotations

import types

import pytest

from peek_platform.plugin.entry_hooks import entryHookClass
from peek_platform.plugin.errors import PluginValidationError
from peek_platform.services import ALL_SERVICES, FIELD, LOGIC
from peek_plugin_base.client.PluginClientEntryHookABC import PluginClientEntryHookABC
from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC


class Complete(PluginLogicEntryHookABC):
    def load(self): ...
    def start(self): ...
    def stop(self): ...
    def unload(self): ...


class FieldComplete(PluginFieldEntryHookABC):
    def load(self): ...
    def start(self): ...
    def stop(self): ...
    def unload(self): ...


def module(**hooks):
    """A module named like a plugin holding the given entry-hook functions."""
    mod = types.ModuleType("peek_plugin_hooks")
    mod.__file__ = "/x/peek_plugin_hooks/__init__.py"
    for name, cls in hooks.items():
        setattr(mod, name, lambda cls=cls: cls)
    return mod


def test_a_hook_name_shared_by_services_promises_one_abc():
    """An entry-hook name looked up by several services (peekClientEntryHook) has one ABC."""
    abcs: dict[str, set[type]] = {}
    for spec in ALL_SERVICES:
        for hook in spec.entryHooks:
            abcs.setdefault(hook.name, set()).add(hook.abc)
    assert all(len(found) == 1 for found in abcs.values()), abcs
    assert abcs["peekClientEntryHook"] == {PluginClientEntryHookABC}


def test_modern_hook_wins_over_legacy():
    """When both names exist, the modern entry hook is used."""
    mod = module(peekLogicEntryHook=Complete, peekServerEntryHook=object)
    assert entryHookClass(mod, LOGIC) is Complete


def test_legacy_hook_is_used_when_alone():
    """A package with only the legacy name is accepted."""
    assert entryHookClass(module(peekServerEntryHook=Complete), LOGIC) is Complete


def test_class_of_the_wrong_abc_is_refused():
    """A logic class returned by the field hook is refused naming the required ABC."""
    with pytest.raises(PluginValidationError) as info:
        entryHookClass(module(peekFieldEntryHook=Complete), FIELD)
    assert "must return a subclass of peek_plugin_base.field.PluginFieldEntryHookABC" in str(
        info.value
    )


def test_field_class_is_accepted_on_field():
    """A field ABC subclass from peekFieldEntryHook is accepted."""
    assert entryHookClass(module(peekFieldEntryHook=FieldComplete), FIELD) is FieldComplete


def test_missing_entry_hook_names_the_functions_to_add():
    """A package without any entry hook is told which functions to add."""
    with pytest.raises(PluginValidationError, match=r"add peekLogicEntryHook\(\) or peekServer"):
        entryHookClass(module(), LOGIC)
