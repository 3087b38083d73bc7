"""Plugin setting declarations from plugin_package.json and their value types."""

from __future__ import annotations

import pytest

from peek_plugin_base.settings.PluginSetting import PluginSettingError, parseSettingDeclarations


def test_declarationsParsedWithTypedDefaults():
    """Each declaration becomes a PluginSetting; an int default of a float setting is a float."""
    [ratio, name] = parseSettingDeclarations(
        "peek_plugin_x",
        [
            {"name": "ratio", "type": "float", "default": 1, "description": "Scale."},
            {"name": "label", "type": "str", "default": "a", "description": "Text."},
        ],
    )
    assert (ratio.name, ratio.default, type(ratio.default)) == ("ratio", 1.0, float)
    assert (name.pluginName, name.type) == ("peek_plugin_x", "str")


@pytest.mark.parametrize(
    ("declarations", "message"),
    [
        ({"name": "x"}, "must be a list"),
        ([{"name": "x", "type": "list", "default": [], "description": ""}], "not one of"),
        ([{"name": "x", "type": "int", "default": "1", "description": ""}], "is a int"),
        ([{"name": "x", "type": "bool", "default": 1, "description": ""}], "is a bool"),
        ([{"name": "x", "type": "int", "default": 1}], "missing \\['description'\\]"),
        (
            [{"name": "x", "type": "int", "default": 1, "description": ""}] * 2,
            "declared twice",
        ),
    ],
)
def test_badDeclarationsRefused(declarations, message):
    """A malformed declaration is refused with a message naming the plugin and the problem."""
    with pytest.raises(PluginSettingError, match=message) as info:
        parseSettingDeclarations("peek_plugin_x", declarations)
    assert "peek_plugin_x" in str(info.value)


def test_intIsNotBool():
    """An int setting refuses a boolean value (bool is not a number here)."""
    [setting] = parseSettingDeclarations(
        "peek_plugin_x", [{"name": "n", "type": "int", "default": 1, "description": ""}]
    )
    with pytest.raises(PluginSettingError):
        setting.coerce(True)
