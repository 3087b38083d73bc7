"""Config behaviours that mutation testing found unasserted (docs/dev/mutation-testing.rst):
writing a generated value, nested dotted documents, how a ConfigError shows itself."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from peek_platform.config import ConfigError, loadServiceConfig, nestDotted
from peek_platform.config.config_file import writeConfigFile, writeTextAtomically
from peek_platform.config.generated_value import writeGeneratedValue
from peek_platform.config.keys import describeValue
from peek_platform.services import LOGIC

SECRET = "dataExchange.secret"


def test_generated_value_is_written_and_other_values_kept(home: Path) -> None:
    """The value lands at its dotted key in config.json, the returned config holds it, and a
    value written to the file since the config was loaded is kept."""
    config = loadServiceConfig(LOGIC, home)
    document = json.loads(config.path.read_text(encoding="utf-8"))
    document["httpServer"]["admin"]["sitePort"] = 18010
    config.path.write_text(json.dumps(document), encoding="utf-8")

    reloaded = writeGeneratedValue(config, SECRET, "s" * 40)

    assert reloaded[SECRET] == "s" * 40
    assert reloaded["httpServer.admin.sitePort"] == 18010
    written = json.loads(config.path.read_text(encoding="utf-8"))
    assert written["dataExchange"]["secret"] == "s" * 40
    assert written["httpServer"]["admin"]["sitePort"] == 18010


def test_generated_value_creates_a_missing_file(home: Path) -> None:
    """A config whose file is gone gets a new file holding the value."""
    config = loadServiceConfig(LOGIC, home)
    config.path.unlink()
    reloaded = writeGeneratedValue(config, SECRET, "n" * 40)
    assert reloaded[SECRET] == "n" * 40
    written = json.loads(config.path.read_text(encoding="utf-8"))
    assert written["dataExchange"]["secret"] == "n" * 40


def test_generated_value_is_refused_for_a_file_with_comments(
    home: Path, writeConfig: Callable[[str], Path]
) -> None:
    """A file with comments is left as it is; the error names the file and the key and says
    to set the key by hand."""
    path = writeConfig('{\n  // operator notes\n  "platform": {}\n}\n')
    config = loadServiceConfig(LOGIC, home)
    before = path.read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        writeGeneratedValue(config, SECRET, "c" * 40)
    assert info.value.path == path
    assert SECRET in info.value.message
    assert "comments" in info.value.message
    assert f"Set {SECRET} in the file yourself" in info.value.message
    assert info.value.message.endswith("and start the service again.")
    assert path.read_text(encoding="utf-8") == before


def test_generated_value_that_cannot_be_written_is_a_config_error(home: Path) -> None:
    """A home replaced by a plain file is a ConfigError naming the config file and the key,
    caused by the OSError."""
    config = loadServiceConfig(LOGIC, home)
    shutil.rmtree(home)
    home.write_text("not a directory", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        writeGeneratedValue(config, SECRET, "w" * 40)
    assert info.value.path == config.path
    assert info.value.message.startswith(f"cannot write the generated {SECRET}: ")
    assert isinstance(info.value.__cause__, OSError)


def test_nested_mappings_are_nested_too() -> None:
    """Dotted keys inside a nested mapping, and a mapping under a new key, both nest."""
    assert nestDotted({"s": {"t.u": 1}, "v": {"w": 2}}) == {"s": {"t": {"u": 1}}, "v": {"w": 2}}


def test_a_plain_value_replaces_an_earlier_section() -> None:
    """A later plain value for a key that an earlier dotted key made a section replaces it."""
    assert nestDotted({"a.b": 1, "a": 5}) == {"a": 5}


def test_config_error_args_hold_its_one_line_text(tmp_path: Path) -> None:
    """``args`` (what repr and logging show) is the same one line as ``str(error)``."""
    error = ConfigError(tmp_path / "config.json", "bad\n  value", line=3, col=7)
    assert error.args == (f"{tmp_path / 'config.json'}:3:7: bad value",)
    assert str(error) in repr(error)


def test_config_file_keeps_non_ascii_text_readable(tmp_path: Path) -> None:
    """Written JSON is UTF-8 with non-ASCII characters as they are, not ``\\u`` escapes."""
    path = tmp_path / "config.json"
    writeConfigFile(path, {"site": {"title": "Zürich ☃"}})
    raw = path.read_bytes()
    assert "Zürich ☃".encode() in raw
    assert json.loads(raw.decode("utf-8")) == {"site": {"title": "Zürich ☃"}}


def test_atomic_write_stays_in_the_target_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary file is made beside the target, so the final rename never crosses file
    systems even when the process's temporary directory is on another one."""
    if os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("/dev/shm is on the same file system as tmp_path")
    monkeypatch.setattr(tempfile, "tempdir", "/dev/shm")
    path = tmp_path / "config.json"
    writeTextAtomically(path, "{}\n")
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_value_descriptions_name_objects_and_other_types() -> None:
    """Error messages call a dict "an object" and anything else by its Python type."""
    assert describeValue({"a": 1}) == "an object"
    assert describeValue(b"raw") == "bytes"


def test_values_read_are_copies(home: Path, writeConfig: Callable[[str], Path]) -> None:
    """Changing a nested value read from the config (or from asDict) changes neither the
    config nor later reads."""
    writeConfig(
        json.dumps(
            {
                "sqlalchemy": {"engineArgs": {"connect_args": {"timeout": 5}}},
                "custom": {"notes": {"owner": "ops"}},
            }
        )
    )
    config = loadServiceConfig(LOGIC, home)
    config["sqlalchemy.engineArgs"]["connect_args"]["timeout"] = 99
    assert config["sqlalchemy.engineArgs"] == {"connect_args": {"timeout": 5}}
    whole = config.asDict()
    whole["sqlalchemy"]["engineArgs"]["connect_args"]["timeout"] = 99
    whole["custom"]["notes"]["owner"] = "someone else"
    again = config.asDict()
    assert again["sqlalchemy"]["engineArgs"] == {"connect_args": {"timeout": 5}}
    assert again["custom"] == {"notes": {"owner": "ops"}}
    assert config["sqlalchemy.engineArgs"] == {"connect_args": {"timeout": 5}}


def test_unknown_key_error_lists_the_known_keys(home: Path) -> None:
    """A key no service has is refused with the service's known keys, comma separated."""
    config = loadServiceConfig(LOGIC, home)
    with pytest.raises(KeyError) as info:
        config["no.such.key"]
    message = info.value.args[0]
    assert message.startswith("unknown config key 'no.such.key'; known keys: ")
    assert "dataExchange.secret, " in message or ", dataExchange.secret" in message


def test_generated_value_into_a_file_broken_since_loading_names_it(home: Path) -> None:
    """A config.json that no longer parses is a ConfigError at that file; nothing is written."""
    config = loadServiceConfig(LOGIC, home)
    config.path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        writeGeneratedValue(config, SECRET, "b" * 40)
    assert info.value.path == config.path
    assert config.path.read_text(encoding="utf-8") == "{ not json"
