"""plugin_package.json reading and validation."""

from __future__ import annotations

import json

import pytest

from peek_platform.identity.permissions import Permission
from peek_platform.plugin.errors import PluginValidationError
from peek_platform.plugin.metadata import readPluginMetadata, runsOnService
from peek_platform.services import AGENT, FIELD, LOGIC, OFFICE

NAME = "peek_plugin_meta"


def writeJson(tmp_path, document=None, text=None):
    """Write plugin_package.json into tmp_path and return its path."""
    path = tmp_path / "plugin_package.json"
    path.write_text(text if text is not None else json.dumps(document))
    return path


def validDocument(**changes):
    document = {
        "plugin": {"title": "Meta", "packageName": NAME, "version": "1.2.3"},
        "requiresServices": ["logic", "field"],
    }
    document.update(changes)
    return document


def refusal(tmp_path, **kwargs) -> str:
    """The message readPluginMetadata raises for the given file contents."""
    path = writeJson(tmp_path, **kwargs)
    with pytest.raises(PluginValidationError) as info:
        readPluginMetadata(NAME, tmp_path)
    assert info.value.pluginName == NAME
    assert info.value.message.startswith(str(path))
    return info.value.message


def test_valid_file_with_comments_is_read(tmp_path):
    """A valid file (json-cfg comments allowed) gives every field, plus the raw document."""
    text = json.dumps(validDocument(requiresPlugins=["peek_plugin_x"], storage={"a": 1}))
    writeJson(tmp_path, text="// the tutorial plugin\n" + text)
    metadata = readPluginMetadata(NAME, tmp_path)
    assert (metadata.title, metadata.version) == ("Meta", "1.2.3")
    assert metadata.requiresServices == ("logic", "field")
    assert metadata.requiresPlugins == ("peek_plugin_x",)
    assert metadata.peekPlatformVersion is None
    assert metadata.raw["storage"] == {"a": 1}
    assert metadata.path == tmp_path / "plugin_package.json"


def test_missing_file_is_named(tmp_path):
    """A package without plugin_package.json is refused naming the expected path."""
    with pytest.raises(PluginValidationError, match=r"plugin_package\.json not found"):
        readPluginMetadata(NAME, tmp_path)


def test_invalid_json_reports_line_and_column(tmp_path):
    """Malformed JSON is refused with path:line:col of the error."""
    message = refusal(tmp_path, text='{\n  "plugin": ,\n}')
    assert message.startswith(f"{tmp_path / 'plugin_package.json'}:2:13: invalid JSON")


def test_duplicate_key_is_refused_with_line_and_column(tmp_path):
    """A key given twice is refused with its position, though strict JSON would take it."""
    message = refusal(tmp_path, text='{\n  "a": 1,\n  "a": 2\n}')
    assert message.startswith(f"{tmp_path / 'plugin_package.json'}:3:")
    assert "Duplicate key" in message


def test_missing_title_is_refused(tmp_path):
    """plugin.title is required."""
    document = validDocument()
    del document["plugin"]["title"]
    assert '"plugin.title" is missing' in refusal(tmp_path, document=document)


def test_wrong_package_name_is_refused(tmp_path):
    """plugin.packageName must equal the package name, and the message says which."""
    document = validDocument()
    document["plugin"]["packageName"] = "peek_plugin_other"
    message = refusal(tmp_path, document=document)
    assert "'peek_plugin_other' but the package is 'peek_plugin_meta'" in message


def test_unknown_service_is_refused(tmp_path):
    """requiresServices names must be known service keys; the known ones are listed."""
    message = refusal(tmp_path, document=validDocument(requiresServices=["logic", "serverx"]))
    assert "unknown service(s) ['serverx']; known: admin, agent, client" in message


def test_requires_services_is_required(tmp_path):
    """A file without requiresServices is refused."""
    document = validDocument()
    del document["requiresServices"]
    assert '"requiresServices" is missing' in refusal(tmp_path, document=document)


def test_requires_plugins_must_be_a_list_of_strings(tmp_path):
    """requiresPlugins, when present, must be a list of names."""
    message = refusal(tmp_path, document=validDocument(requiresPlugins="peek_plugin_x"))
    assert '"requiresPlugins" must be a list of strings' in message


def test_invalid_platform_range_is_refused(tmp_path):
    """peekPlatformVersion must be a PEP 440 specifier."""
    message = refusal(tmp_path, document=validDocument(peekPlatformVersion="three"))
    assert "is not a PEP 440 version range" in message


def test_platform_range_excluding_contract_names_both(tmp_path):
    """A range excluding the contract version names the range and the version."""
    writeJson(tmp_path, validDocument(peekPlatformVersion=">=2,<3"))
    with pytest.raises(PluginValidationError) as info:
        readPluginMetadata(NAME, tmp_path, contractVersion="3.0.0")
    assert "'>=2,<3' excludes this platform's plugin contract version 3.0.0" in str(info.value)


def test_platform_range_including_contract_is_kept(tmp_path):
    """A range containing the contract version is accepted and kept."""
    writeJson(tmp_path, validDocument(peekPlatformVersion=">=3,<4"))
    assert readPluginMetadata(NAME, tmp_path).peekPlatformVersion == ">=3,<4"


@pytest.mark.parametrize(
    ("services", "runsOn"),
    [
        (["server"], {"logic"}),
        (["storage", "admin"], {"logic"}),
        (["client"], {"field", "office"}),
        (["mobile"], {"field"}),
        (["desktop"], {"office"}),
        (["agent"], {"agent"}),
    ],
)
def test_runs_on_service_understands_legacy_keys(tmp_path, services, runsOn):
    """runsOnService maps modern and legacy requiresServices keys to services."""
    writeJson(tmp_path, validDocument(requiresServices=services))
    metadata = readPluginMetadata(NAME, tmp_path)
    assert {s.key for s in (LOGIC, FIELD, OFFICE, AGENT) if runsOnService(metadata, s)} == runsOn


def test_plugin_error_string_names_the_plugin():
    """str() of a plugin error is '<pluginName>: <message>'."""
    assert str(PluginValidationError("peek_plugin_a", "broken")) == "peek_plugin_a: broken"


def test_permissions_are_read_in_order(tmp_path):
    """Declared permissions become Permission(name, description), in file order."""
    document = validDocument(
        permissions=[
            {"name": f"{NAME}.edit", "description": "Change the meta items "},
            {"name": f"{NAME}.view_all", "description": "See every meta item"},
        ]
    )
    writeJson(tmp_path, document)
    metadata = readPluginMetadata(NAME, tmp_path)
    assert metadata.permissions == (
        Permission(f"{NAME}.edit", "Change the meta items"),
        Permission(f"{NAME}.view_all", "See every meta item"),
    )


def test_permissions_are_optional(tmp_path):
    """A plugin without "permissions" declares none."""
    writeJson(tmp_path, validDocument())
    assert readPluginMetadata(NAME, tmp_path).permissions == ()


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        ({"name": "x"}, '"permissions" must be a list of objects like'),
        (["peek_plugin_meta.edit"], '"permissions[0]" must be an object'),
        ([{"description": "Edit"}], '"permissions[0]".name must be a non-empty string'),
        (
            [{"name": "peek_plugin_other.edit", "description": "Edit"}],
            "\"permissions[0]\".name 'peek_plugin_other.edit' must start with the plugin's name",
        ),
        (
            [{"name": "edit", "description": "Edit"}],
            "'edit' must start with the plugin's name and a dot, like 'peek_plugin_meta.edit'",
        ),
        (
            [{"name": "peek_plugin_meta.Edit-All", "description": "Edit"}],
            "must be peek_plugin_meta.WORD where WORD is lowercase letters, digits and "
            "underscores starting with a letter",
        ),
        (
            [{"name": "peek_plugin_meta.edit"}],
            "\"permissions[0]\".description of 'peek_plugin_meta.edit' must be a non-empty",
        ),
        (
            [{"name": "peek_plugin_meta.edit", "description": "  "}],
            "description of 'peek_plugin_meta.edit' must be a non-empty string",
        ),
        (
            [
                {"name": "peek_plugin_meta.edit", "description": "Edit"},
                {"name": "peek_plugin_meta.edit", "description": "Edit again"},
            ],
            "\"permissions[1]\".name 'peek_plugin_meta.edit' is declared twice",
        ),
        (
            [{"name": "peek_plugin_meta.edit", "description": "Edit", "role": "x"}],
            "\"permissions[0]\" has unknown key(s) ['role']",
        ),
    ],
    ids=[
        "not-a-list",
        "entry-not-object",
        "missing-name",
        "other-plugin",
        "no-prefix",
        "bad-word",
        "missing-description",
        "blank-description",
        "duplicate",
        "unknown-key",
    ],
)
def test_bad_permissions_are_refused(tmp_path, permissions, expected):
    """Each mistake in "permissions" is refused naming the file, the entry and the fix."""
    assert expected in refusal(tmp_path, document=validDocument(permissions=permissions))
