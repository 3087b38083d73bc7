"""Browser-test plugin: settings on logic, for the admin settings page test.

Logic logs ``BTEST setting greeting=<value>`` whenever ``pluginSettings.get`` returns a new
value, so the browser tests can prove from the plugin's side what reached it.
"""

__all__ = ["peekLogicEntryHook"]


def peekLogicEntryHook():
    """The logic entry hook class."""
    from peek_plugin_btest.logic import LogicHook

    return LogicHook
