"""Browser-test plugin: a shared counter on logic, a field page that shows and bumps it.

Logic logs ``BTEST setting greeting=<value>`` whenever ``pluginSettings.get`` returns a new
value, and ``BTEST counter=<n> action=<uuid>`` for every increment it processes, so the
browser tests can prove from the plugin's side what reached it.
"""

from peek_plugin_btest.tuples import COUNTER_TUPLE, FILT, PLUGIN_NAME

__all__ = ["COUNTER_TUPLE", "FILT", "PLUGIN_NAME", "peekFieldEntryHook", "peekLogicEntryHook"]


def peekLogicEntryHook():
    """The logic entry hook class."""
    from peek_plugin_btest.logic import LogicHook

    return LogicHook


def peekFieldEntryHook():
    """The field entry hook class."""
    from peek_plugin_btest.field import FieldHook

    return FieldHook
