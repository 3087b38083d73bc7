"""Tests for peek_platform/config/errors.py."""

from __future__ import annotations

from pathlib import Path

from peek_platform.config import ConfigError


def test_str_with_location_is_path_line_col_message() -> None:
    """A located error renders as ``PATH:LINE:COL: message``."""
    error = ConfigError(Path("/h/config.json"), "Expected a scalar here.", 3, 7)
    assert str(error) == "/h/config.json:3:7: Expected a scalar here."


def test_str_without_location_is_path_message() -> None:
    """An error with no position renders as ``PATH: message``."""
    error = ConfigError(Path("/h/config.json"), "cannot read the config file")
    assert str(error) == "/h/config.json: cannot read the config file"


def test_message_is_flattened_to_one_line() -> None:
    """Newlines in the message never split the rendered error over several lines."""
    error = ConfigError(Path("c.json"), "first\nsecond\n", 1, 2)
    assert str(error) == "c.json:1:2: first second"
    assert error.message == "first second"


def test_attributes_are_kept() -> None:
    """``path``, ``message``, ``line`` and ``col`` are available to callers."""
    error = ConfigError("c.json", "bad", 4, 5)
    assert (error.path, error.message, error.line, error.col) == (Path("c.json"), "bad", 4, 5)
