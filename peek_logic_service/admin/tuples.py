"""Tuples the admin pages observe and push on the ``peek_logic_service.admin`` observable."""

from __future__ import annotations

from peek_platform.vortex.typed_fields import anyField, field, listField
from vortex.Tuple import Tuple, addTupleType

#: Observable and action processor name of the admin pages (also their ``additionalFilt``).
ADMIN_OBSERVABLE_NAME = "peek_logic_service.admin"
ADMIN_FILT: dict[str, str] = {"plugin": ADMIN_OBSERVABLE_NAME}
#: The only vortex identity whose actions the admin processor accepts: an admin browser.
ADMIN_BROWSER_IDENTITY = "device:peek-admin-app"
#: ``TupleGenericAction.key`` that saves one plugin setting.
SET_PLUGIN_SETTING_ACTION = "setPluginSetting"


@addTupleType
class AdminPluginSettingTuple(Tuple):
    """One declared plugin setting with its current value, for the Settings page."""

    __tupleType__ = "peek_logic_service.admin.PluginSettingTuple"

    pluginName = field(str)
    pluginTitle = field(str)
    name = field(str)
    type = field(str)
    default = anyField()
    description = field(str)
    value = anyField()
    isDefault = field(bool, True)


@addTupleType
class AdminConfigEntryTuple(Tuple):
    """One config key of a service; a secret's value is never sent (``value`` is None)."""

    __tupleType__ = "peek_logic_service.admin.ConfigEntryTuple"

    key = field(str)
    type = field(str)
    value = anyField()
    description = field(str)
    secret = field(bool, False)
    #: For a secret: whether a value is set at all (shown as "hidden" or "not set").
    isSet = field(bool, True)


@addTupleType
class AdminConfigTuple(Tuple):
    """One service's configuration as the Config page shows it."""

    __tupleType__ = "peek_logic_service.admin.ConfigTuple"

    serviceKey = field(str)
    configPath = field(str)
    entries = listField(AdminConfigEntryTuple)


@addTupleType
class AdminLogTailTuple(Tuple):
    """The newest lines of a service's log file, oldest first."""

    __tupleType__ = "peek_logic_service.admin.LogTailTuple"

    serviceKey = field(str)
    logPath = field(str)
    lines = listField(str)
