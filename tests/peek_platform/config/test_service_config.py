"""Tests for peek_platform/config/service_config.py."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from peek_platform.config import (
    CONFIG_KEYS,
    ConfigError,
    ConfigKey,
    keys,
    loadServiceConfig,
)
from peek_platform.config.keys import keysForService
from peek_platform.services import FIELD, LOGIC

#: The defaults the logic service writes (every test below loads LOGIC).
DEFAULTS = {key.path: key.default for key in keysForService(LOGIC)}
WriteConfig = Callable[[str], Path]


def _flatten(document: dict, prefix: str = "") -> dict:
    """Flatten nested dicts into ``{dotted.key: value}``."""
    flat = {}
    for name, value in document.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def test_fresh_home_gets_a_complete_strict_json_config(home: Path) -> None:
    """A missing home and file are created and hold every default as strict JSON."""
    config = loadServiceConfig(LOGIC, home)
    written = json.loads((home / "config.json").read_text(encoding="utf-8"))
    assert _flatten(written) == DEFAULTS
    assert config.path == home / "config.json"
    assert config.home == home
    assert config.spec is LOGIC
    assert config.unwrittenKeys == []


def test_loaded_values_are_typed_defaults(home: Path) -> None:
    """Item access returns each key's typed default."""
    config = loadServiceConfig(FIELD, home)
    assert config["logging.level"] == "INFO"
    assert config["logging.logToStdout"] is True
    assert config["plugin.enabled"] == []
    assert config["plugin.lifecycleDeadlineSeconds"] == 30.0
    assert isinstance(config["plugin.lifecycleDeadlineSeconds"], float)
    assert config["dataExchange.port"] == 8011


def test_second_load_writes_nothing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a complete file leaves its bytes and mtime alone and attempts no write."""
    loadServiceConfig(LOGIC, home)
    path = home / "config.json"
    before = (path.read_bytes(), path.stat().st_mtime_ns)

    def refuse(src: object, dst: object) -> None:
        raise AssertionError(f"unexpected write of {dst}")

    monkeypatch.setattr(os, "replace", refuse)
    config = loadServiceConfig(LOGIC, home)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert config.unwrittenKeys == []


def test_missing_keys_are_filled_and_existing_kept(home: Path, writeConfig: WriteConfig) -> None:
    """Missing keys are written back while the values already set stay as they were."""
    path = writeConfig('{"logging": {"level": "debug"}, "plugin": {"enabled": ["peek_plugin_a"]}}')
    config = loadServiceConfig(LOGIC, home)
    written = _flatten(json.loads(path.read_text(encoding="utf-8")))
    assert written == {
        **DEFAULTS,
        "logging.level": "debug",
        "plugin.enabled": ["peek_plugin_a"],
    }
    assert config["logging.level"] == "DEBUG"
    assert config["plugin.enabled"] == ["peek_plugin_a"]


def test_unknown_keys_are_preserved(home: Path, writeConfig: WriteConfig) -> None:
    """Keys the platform does not know survive the write-back untouched."""
    path = writeConfig(
        '{"sqlalchemy": {"connectUrl": "sqlite://", "engineArgs": {"echo": false}},'
        ' "logging": {"futureKey": [1, {"x": null}]}}'
    )
    config = loadServiceConfig(LOGIC, home)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["sqlalchemy"] == {"connectUrl": "sqlite://", "engineArgs": {"echo": False}}
    assert written["logging"]["futureKey"] == [1, {"x": None}]
    assert config.asDict()["sqlalchemy"]["connectUrl"] == "sqlite://"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            '{\n    "logging": {\n        "level": "INFO"\n        "rotateSizeMb": 20\n    }\n}',
            '4:9: Expected ","',
        ),
        (
            '{\n    "logging": {\n        "level": "INFO",\n        "rotateSizeMb": \n    }\n}',
            "5:5: Expected a scalar here.",
        ),
        (
            '{\n    "logging": {\n        "level": "INFO",\n        "level": "DEBUG"\n    }\n}',
            '4:9: Duplicate key: "level"',
        ),
    ],
)
def test_malformed_file_is_a_located_error_and_unchanged(
    home: Path, writeConfig: WriteConfig, text: str, where: str
) -> None:
    """A parse error is exactly ``path:line:col: message`` and leaves the file byte-identical."""
    path = writeConfig(text)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        loadServiceConfig(LOGIC, home)
    assert str(info.value) == f"{path}:{where}"
    assert path.read_bytes() == before
    assert os.listdir(home) == ["config.json"]


@pytest.mark.parametrize(
    ("key", "valueText", "expectedType"),
    [
        ("logging.level", "5", "a string"),
        ("logging.rotateSizeMb", '"20"', "an integer"),
        ("logging.rotationsToKeep", "true", "an integer"),
        ("logging.logToStdout", "1", "a boolean"),
        ("logging.logToStdout", '"true"', "a boolean"),
        ("plugin.enabled", '"peek_plugin_a"', "a list of strings"),
        ("plugin.lifecycleDeadlineSeconds", '"30"', "a number"),
        ("plugin.lifecycleDeadlineSeconds", "false", "a number"),
        ("dataExchange.host", "null", "a string"),
    ],
)
def test_wrong_type_names_key_type_and_location(
    home: Path, writeConfig: WriteConfig, key: str, valueText: str, expectedType: str
) -> None:
    """A value of the wrong type names the dotted key, the expected type and its line:col."""
    section, name = key.split(".")
    path = writeConfig(f'{{\n  "{section}": {{\n    "{name}": {valueText}\n  }}\n}}')
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        loadServiceConfig(LOGIC, home)
    valueCol = len(f'    "{name}": ') + 1
    assert (info.value.line, info.value.col) == (3, valueCol)
    assert info.value.message.startswith(f"{key}: expected {expectedType}, got ")
    assert path.read_bytes() == before


def test_wrong_list_item_points_at_the_item(home: Path, writeConfig: WriteConfig) -> None:
    """A non-string plugin name is reported at the item's own position."""
    writeConfig('{"plugin": {"enabled": [\n    "peek_plugin_a",\n    42\n]}}')
    with pytest.raises(ConfigError) as info:
        loadServiceConfig(LOGIC, home)
    assert (info.value.line, info.value.col) == (3, 5)
    assert info.value.message == ("plugin.enabled: item 1: expected a string, got an integer (42)")


def test_section_that_is_not_an_object(home: Path, writeConfig: WriteConfig) -> None:
    """A section holding a scalar is an error naming the section."""
    writeConfig('{"logging": "INFO"}')
    with pytest.raises(ConfigError, match=r"1:13: logging: expected an object, got a string"):
        loadServiceConfig(LOGIC, home)


@pytest.mark.parametrize(
    ("key", "valueText", "message"),
    [
        ("logging.level", '"LOUD"', "'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("plugin.lifecycleDeadlineSeconds", "0", "must be greater than 0, got 0"),
        ("plugin.lifecycleDeadlineSeconds", "-1.5", "must be greater than 0, got -1.5"),
        ("logging.rotateSizeMb", "0", "must be at least 1, got 0"),
        ("dataExchange.port", "70000", "must be at most 65535, got 70000"),
    ],
)
def test_out_of_range_values_are_errors(
    home: Path, writeConfig: WriteConfig, key: str, valueText: str, message: str
) -> None:
    """Values of the right type but outside their allowed set are errors naming the key."""
    section, name = key.split(".")
    writeConfig(f'{{"{section}": {{"{name}": {valueText}}}}}')
    with pytest.raises(ConfigError) as info:
        loadServiceConfig(LOGIC, home)
    assert info.value.message.startswith(f"{key}: {message}")


def test_float_deadline_is_accepted(home: Path, writeConfig: WriteConfig) -> None:
    """A fractional lifecycle deadline is a valid number."""
    writeConfig('{"plugin": {"lifecycleDeadlineSeconds": 2.5}}')
    assert loadServiceConfig(LOGIC, home)["plugin.lifecycleDeadlineSeconds"] == 2.5


def test_commented_file_is_not_rewritten(home: Path, writeConfig: WriteConfig) -> None:
    """A file with comments keeps its bytes; missing keys come back in ``unwrittenKeys``."""
    path = writeConfig(
        '{\n  // keep this comment\n  "logging": {"level": "WARNING"},\n'
        '  /* and this */ "plugin": {"enabled": ["peek_plugin_a"]}\n}\n'
    )
    before = path.read_bytes()
    config = loadServiceConfig(LOGIC, home)
    assert path.read_bytes() == before
    present = {"logging.level", "plugin.enabled"}
    assert config.unwrittenKeys == [k.path for k in keysForService(LOGIC) if k.path not in present]
    assert "dataExchange.port" in config.unwrittenKeys
    assert config["logging.level"] == "WARNING"
    assert config["plugin.enabled"] == ["peek_plugin_a"]
    assert config["dataExchange.port"] == 8011


def test_complete_commented_file_has_no_unwritten_keys(
    home: Path, writeConfig: WriteConfig
) -> None:
    """A commented file that lacks nothing reports no unwritten keys."""
    loadServiceConfig(LOGIC, home)
    text = (home / "config.json").read_text(encoding="utf-8")
    writeConfig("// all settings\n" + text)
    assert loadServiceConfig(LOGIC, home).unwrittenKeys == []


def test_check_only_creates_nothing(home: Path) -> None:
    """``writeBack=False`` on a missing home creates no directory and lists every key."""
    config = loadServiceConfig(LOGIC, home, writeBack=False)
    assert not home.exists()
    assert config.unwrittenKeys == list(DEFAULTS)
    assert config["logging.level"] == "INFO"


def test_check_only_leaves_partial_file_alone(
    home: Path, writeConfig: WriteConfig, forbidWrites: None
) -> None:
    """``writeBack=False`` validates a partial file without touching it."""
    path = writeConfig('{"dataExchange": {"port": 9000}}')
    before = path.read_bytes()
    config = loadServiceConfig(LOGIC, home, writeBack=False)
    assert path.read_bytes() == before
    assert config["dataExchange.port"] == 9000
    assert "dataExchange.port" not in config.unwrittenKeys
    assert "dataExchange.host" in config.unwrittenKeys


def test_failed_write_back_is_a_config_error(
    home: Path, writeConfig: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write-back that fails raises ``ConfigError`` and leaves the file as it was."""
    path = writeConfig('{"logging": {}}')

    def failingReplace(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", failingReplace)
    with pytest.raises(ConfigError, match="cannot write the missing defaults back"):
        loadServiceConfig(LOGIC, home)
    assert path.read_bytes() == b'{"logging": {}}'
    assert os.listdir(home) == ["config.json"]


def test_json_cfg_extensions_without_comments_are_normalised(
    home: Path, writeConfig: WriteConfig
) -> None:
    """Unquoted keys and trailing commas parse, and the write-back is strict JSON."""
    path = writeConfig('{logging: {level: "ERROR",},}')
    loadServiceConfig(LOGIC, home)
    assert json.loads(path.read_text(encoding="utf-8"))["logging"]["level"] == "ERROR"


def test_unknown_key_access_is_a_key_error_naming_it(home: Path) -> None:
    """Asking for an undeclared key raises ``KeyError`` naming that key."""
    config = loadServiceConfig(LOGIC, home)
    with pytest.raises(KeyError, match=r"unknown config key 'logging\.colour'"):
        config["logging.colour"]


def test_key_of_another_service_is_a_key_error_saying_so(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared key that the service does not read is refused with the service named."""
    fieldOnly = ConfigKey("httpServer.field.sitePort", int, 8000, "Port.", frozenset({"field"}))
    monkeypatch.setattr(keys, "CONFIG_KEYS", (*CONFIG_KEYS, fieldOnly))
    config = loadServiceConfig(LOGIC, home)
    with pytest.raises(KeyError, match="does not apply to the logic service"):
        config["httpServer.field.sitePort"]
    assert loadServiceConfig(FIELD, home)["httpServer.field.sitePort"] == 8000


def test_values_are_returned_as_copies(home: Path, writeConfig: WriteConfig) -> None:
    """Mutating a returned list does not change the configuration."""
    writeConfig('{"plugin": {"enabled": ["peek_plugin_a"]}}')
    config = loadServiceConfig(LOGIC, home)
    config["plugin.enabled"].append("peek_plugin_b")
    config.asDict()["plugin"]["enabled"].append("peek_plugin_c")
    assert config["plugin.enabled"] == ["peek_plugin_a"]


def test_as_dict_has_typed_values_defaults_and_unknown_keys(
    home: Path, writeConfig: WriteConfig
) -> None:
    """``asDict`` nests typed values, defaults and unknown keys in one document."""
    writeConfig('{"logging": {"level": "warning"}, "extra": 1}')
    document = loadServiceConfig(LOGIC, home, writeBack=False).asDict()
    assert _flatten(document) == {**DEFAULTS, "logging.level": "WARNING", "extra": 1}
