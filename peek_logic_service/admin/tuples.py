"""Tuples the admin pages observe and push on the ``peek_logic_service.admin`` observable."""

from __future__ import annotations

from typing import Any

from vortex.Tuple import Tuple, TupleField, addTupleType

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

    pluginName: str = TupleField(typingType=str)
    pluginTitle: str = TupleField(typingType=str)
    name: str = TupleField(typingType=str)
    type: str = TupleField(typingType=str)
    default: Any = TupleField()
    description: str = TupleField(typingType=str)
    value: Any = TupleField()
    isDefault: bool = TupleField(True, typingType=bool)


@addTupleType
class AdminConfigEntryTuple(Tuple):
    """One config key of a service; a secret's value is never sent (``value`` is None)."""

    __tupleType__ = "peek_logic_service.admin.ConfigEntryTuple"

    key: str = TupleField(typingType=str)
    type: str = TupleField(typingType=str)
    value: Any = TupleField()
    description: str = TupleField(typingType=str)
    secret: bool = TupleField(False, typingType=bool)
    #: For a secret: whether a value is set at all (shown as "hidden" or "not set").
    isSet: bool = TupleField(True, typingType=bool)


@addTupleType
class AdminConfigTuple(Tuple):
    """One service's configuration as the Config page shows it."""

    __tupleType__ = "peek_logic_service.admin.ConfigTuple"

    serviceKey: str = TupleField(typingType=str)
    configPath: str = TupleField(typingType=str)
    entries: list = TupleField(list, typingType=list)


@addTupleType
class AdminLogTailTuple(Tuple):
    """The newest lines of a service's log file, oldest first."""

    __tupleType__ = "peek_logic_service.admin.LogTailTuple"

    serviceKey: str = TupleField(typingType=str)
    logPath: str = TupleField(typingType=str)
    lines: list = TupleField(list, typingType=list)
