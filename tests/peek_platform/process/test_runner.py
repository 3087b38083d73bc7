"""Tests of the service command line and the config-error exit of ``runService``."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.internet.testing import MemoryReactorClock

from peek_platform import __version__
from peek_platform.config import ConfigError
from peek_platform.exit_codes import EXIT_CONFIG_ERROR
from peek_platform.process import ServiceComposition, ServiceExtensionBase
from peek_platform.process.runner import buildArgumentParser, runService
from peek_platform.services import AGENT, FIELD, LOGIC


def unusedCompose(spec, sites):
    """A service composition the config-error path must never reach."""
    raise AssertionError("nothing may be composed when config.json is invalid")


def test_help_names_config_log_file_and_env_var(monkeypatch):
    """--help says where config.json and the log file are and names $PEEK_HOME_ROOT."""
    monkeypatch.setenv("COLUMNS", "500")
    text = buildArgumentParser(LOGIC).format_help()
    assert "config.json" in text
    assert LOGIC.logFileName in text
    assert "PEEK_HOME_ROOT" in text


def test_home_defaults_to_peek_home_root(monkeypatch, tmp_path):
    """Without --home, the home is $PEEK_HOME_ROOT/<homeDirName>."""
    monkeypatch.setenv("PEEK_HOME_ROOT", str(tmp_path))
    args = buildArgumentParser(FIELD).parse_args([])
    assert args.home == tmp_path / "peek-field-service.home"


def test_home_option_overrides_default(tmp_path):
    """--home DIR selects the home directory."""
    args = buildArgumentParser(LOGIC).parse_args(["--home", str(tmp_path)])
    assert args.home == tmp_path


def test_version_prints_command_and_version(capsys):
    """--version prints the command name and the platform version, then exits 0."""
    with pytest.raises(SystemExit) as exited:
        buildArgumentParser(LOGIC).parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"run_peek_logic_service {__version__}"


def test_malformed_config_exits_2_with_one_line_and_file_unchanged(tmp_path: Path, capsys):
    """A malformed config.json returns 2, prints one path:line:col line, keeps the file."""
    configPath = tmp_path / "config.json"
    original = b'{\n  "plugin": {"enabled": [}\n}\n'
    configPath.write_bytes(original)
    status = runService(LOGIC, ["--home", str(tmp_path)], compose=unusedCompose)
    captured = capsys.readouterr()
    assert status == EXIT_CONFIG_ERROR
    assert captured.out == ""
    errLines = captured.err.splitlines()
    assert len(errLines) == 1
    assert errLines[0].startswith(f"{configPath}:2:")
    assert configPath.read_bytes() == original


class RefusingExtension(ServiceExtensionBase):
    """An extension whose configure step finds the config unusable."""

    def __init__(self) -> None:
        self.started = False

    def configure(self, ctx):
        raise ConfigError(ctx.config.path, "widget.size must be positive")

    def startBeforePlugins(self, ctx):
        self.started = True


def test_config_error_in_configure_exits_2_before_anything_starts(tmp_path: Path, capfd):
    """A ConfigError from an extension's configure step returns 2, logged; nothing starts."""
    refusing = RefusingExtension()

    def compose(spec, sites):
        return ServiceComposition(platformHook=unusedCompose, extensions=[refusing])

    reactor = MemoryReactorClock()
    status = runService(AGENT, ["--home", str(tmp_path)], compose=compose, reactor=reactor)
    assert status == EXIT_CONFIG_ERROR
    assert not refusing.started
    assert not reactor.running and reactor.whenRunningHooks == []
    assert f"{tmp_path / 'config.json'}: widget.size must be positive" in capfd.readouterr().err
