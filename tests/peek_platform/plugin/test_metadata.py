"""plugin_package.json reading and validation."""

from __future__ import annotations

import json

import pytest

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
