"""The ``AppliedAction`` table: the uuid of each noop action applied, so a repeat is not.

Added by the fourth migration. ``MainController`` records an action's uuid in the same
transaction as its change; a device re-sending the action after logic restarted finds it.
"""

from peek_plugin_base.storage.AppliedActions import AppliedActions
from peek_plugin_noop._private.storage.DeclarativeBase import DeclarativeBase

#: The noop actions applied, newest 100,000 kept.
appliedActions = AppliedActions(DeclarativeBase, "AppliedAction")
