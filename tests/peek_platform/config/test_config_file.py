"""Tests for peek_platform/config/config_file.py."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from peek_platform.config import ConfigError, writeConfigFile
from peek_platform.config.config_file import hasComments, parseConfigText, readConfigText


def test_write_is_indented_json_and_leaves_no_temp_files(tmp_path: Path) -> None:
    """The written file is 4-space indented JSON and is the only file in the directory."""
    path = tmp_path / "config.json"
    data = {"logging": {"level": "INFO"}, "x": [1, 2]}
    writeConfigFile(path, data)
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert '\n    "logging": {\n        "level": "INFO"' in path.read_text(encoding="utf-8")
    assert os.listdir(tmp_path) == ["config.json"]


def test_write_creates_the_directory(tmp_path: Path) -> None:
    """A missing parent directory is created."""
    path = tmp_path / "a" / "b" / "config.json"
    writeConfigFile(path, {"k": 1})
    assert json.loads(path.read_text(encoding="utf-8")) == {"k": 1}


def test_failed_rename_keeps_original_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the rename fails the original file is unchanged and no temp file remains."""
    path = tmp_path / "config.json"
    path.write_bytes(b'{"old": true}\n')

    def failingReplace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failingReplace)
    with pytest.raises(OSError, match="No space left"):
        writeConfigFile(path, {"new": True})
    assert path.read_bytes() == b'{"old": true}\n'
    assert os.listdir(tmp_path) == ["config.json"]


def test_write_keeps_existing_mode_and_new_files_are_private(tmp_path: Path) -> None:
    """An existing file keeps its permission bits; a new file is owner-only."""
    existing = tmp_path / "existing.json"
    existing.write_text("{}", encoding="utf-8")
    existing.chmod(0o640)
    writeConfigFile(existing, {"a": 1})
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.json"
    writeConfigFile(fresh, {"a": 1})
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1} // trailing', True),
        ('{\n  /* block */\n  "a": 1\n}', True),
        ('{"url": "http://x/*y*/"}', False),
        ('{"a": 1,}', False),
    ],
)
def test_has_comments(text: str, expected: bool) -> None:
    """Comments are detected outside strings only; other json-cfg extensions are not comments."""
    assert hasComments(text) is expected


def test_parse_error_carries_line_and_column(tmp_path: Path) -> None:
    """json-cfg's parse position becomes the ``ConfigError`` line and column."""
    path = tmp_path / "config.json"
    with pytest.raises(ConfigError) as info:
        parseConfigText(path, '{\n    "a": 1\n    "b": 2\n}')
    assert (info.value.line, info.value.col) == (3, 5)
    assert str(info.value) == f'{path}:3:5: Expected ","'


def test_invalid_utf8_is_a_located_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give a ``ConfigError`` at their line and column."""
    path = tmp_path / "config.json"
    path.write_bytes(b'{\n  "a": "\xff"\n}')
    with pytest.raises(ConfigError) as info:
        readConfigText(path)
    assert (info.value.line, info.value.col) == (2, 9)


def test_bom_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 byte order mark is stripped."""
    path = tmp_path / "config.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert readConfigText(path) == '{"a": 1}'


def test_unreadable_path_is_a_config_error(tmp_path: Path) -> None:
    """A config path that cannot be read (here a directory) is a ``ConfigError``."""
    path = tmp_path / "config.json"
    path.mkdir()
    with pytest.raises(ConfigError, match="cannot read the config file"):
        readConfigText(path)
