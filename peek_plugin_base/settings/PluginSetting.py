"""Declaration of one plugin setting, read from the ``settings`` list of plugin_package.json."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

#: The value types a setting can have, by the name used in plugin_package.json.
SETTING_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class PluginSettingError(ValueError):
    """A setting declaration or value is wrong; the message names the plugin and setting."""


@dataclass(frozen=True)
class PluginSetting:
    """One declared setting: name, type (``str``/``int``/``float``/``bool``), default, meaning."""

    pluginName: str
    name: str
    type: str
    default: Any
    description: str

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this setting's type; ``PluginSettingError`` when it does not fit."""
        expected = SETTING_TYPES[self.type]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
            raise PluginSettingError(
                f"plugin {self.pluginName}: setting {self.name!r} is a {self.type}, "
                f"got {value!r} ({type(value).__name__})"
            )
        return value


def parseSettingDeclarations(pluginName: str, declarations: Any) -> tuple[PluginSetting, ...]:
    """Validate the ``settings`` list of a plugin_package.json; raise ``PluginSettingError``."""
    if declarations is None:
        return ()
    where = f'plugin {pluginName}: plugin_package.json "settings"'
    if not isinstance(declarations, list):
        raise PluginSettingError(f"{where} must be a list of objects, not {declarations!r}")
    settings: list[PluginSetting] = []
    for index, item in enumerate(declarations):
        if not isinstance(item, dict):
            raise PluginSettingError(f"{where}[{index}] must be an object, not {item!r}")
        unknown = set(item) - {"name", "type", "default", "description"}
        missing = {"name", "type", "default", "description"} - set(item)
        if unknown or missing:
            raise PluginSettingError(
                f"{where}[{index}] needs exactly name, type, default and description "
                f"(missing {sorted(missing)}, unknown {sorted(unknown)})"
            )
        name, typeName = item["name"], item["type"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise PluginSettingError(f"{where}[{index}].name {name!r} is not a valid name")
        if typeName not in SETTING_TYPES:
            raise PluginSettingError(
                f"{where}[{index}] ({name}): type {typeName!r} is not one of "
                f"{', '.join(SETTING_TYPES)}"
            )
        if not isinstance(item["description"], str):
            raise PluginSettingError(f"{where}[{index}] ({name}): description must be a string")
        if any(s.name == name for s in settings):
            raise PluginSettingError(f"{where}: setting {name!r} is declared twice")
        setting = PluginSetting(pluginName, name, typeName, item["default"], item["description"])
        settings.append(dataclasses.replace(setting, default=setting.coerce(setting.default)))
    return tuple(settings)
