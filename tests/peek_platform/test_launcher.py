"""Tests of the single-host launcher's first-run config, child commands and output relay."""

from __future__ import annotations

import json
from pathlib import Path

from peek_platform.config import loadServiceConfig
from peek_platform.launcher import (
    buildArgumentParser,
    childCommands,
    relayLine,
    writeFirstRunConfigs,
)
from peek_platform.services import ALL_SERVICES, LOGIC, homeRoot


def test_first_run_writes_a_valid_config_for_each_service(tmp_path: Path):
    """First run writes a config.json per service that the service itself accepts."""
    written = writeFirstRunConfigs(tmp_path)
    assert written == [tmp_path / spec.homeDirName / "config.json" for spec in ALL_SERVICES]
    for spec in ALL_SERVICES:
        config = loadServiceConfig(spec, tmp_path / spec.homeDirName, writeBack=False)
        assert config["plugin.enabled"] == ["peek_plugin_noop"]


def test_first_run_configs_agree_on_data_exchange(tmp_path: Path):
    """All five services are configured with the same data exchange host and port."""
    writeFirstRunConfigs(tmp_path)
    endpoints = {
        (config["dataExchange.host"], config["dataExchange.port"])
        for config in (
            loadServiceConfig(spec, tmp_path / spec.homeDirName, writeBack=False)
            for spec in ALL_SERVICES
        )
    }
    assert len(endpoints) == 1


def test_first_run_never_overwrites_existing_config(tmp_path: Path):
    """An existing config.json is left byte-for-byte alone and not reported as written."""
    existing = tmp_path / LOGIC.homeDirName / "config.json"
    existing.parent.mkdir()
    original = json.dumps({"plugin": {"enabled": []}}).encode()
    existing.write_bytes(original)
    written = writeFirstRunConfigs(tmp_path)
    assert existing not in written
    assert len(written) == len(ALL_SERVICES) - 1
    assert existing.read_bytes() == original


def test_child_commands_start_logic_first_with_home_root(tmp_path: Path):
    """Children run logic first, each as python -m peek_<svc>_service with its home."""
    commands = childCommands(tmp_path, python="/py", environ={"PATH": "/bin"})
    assert [c.key for c in commands] == [spec.key for spec in ALL_SERVICES]
    assert commands[0].key == "logic"
    logic = commands[0]
    assert logic.argv[0] == "/py"
    assert logic.argv[-4:] == (
        "-m",
        "peek_logic_service",
        "--home",
        str(tmp_path / "peek-logic-service.home"),
    )
    assert logic.env["PEEK_HOME_ROOT"] == str(tmp_path)
    assert logic.env["PATH"] == "/bin"


def test_default_home_root_honours_env(tmp_path: Path):
    """The home root is $PEEK_HOME_ROOT when set, else the user's home."""
    assert homeRoot({"PEEK_HOME_ROOT": str(tmp_path)}) == tmp_path
    assert homeRoot({}) == Path.home()


def test_home_root_option(tmp_path: Path):
    """--home-root DIR is parsed as the home root."""
    assert buildArgumentParser().parse_args(["--home-root", str(tmp_path)]).home_root == tmp_path


def test_relay_prefixes_each_line_with_padded_key():
    """Child lines are written prefixed with the service key, padded to align."""
    out: list[str] = []
    relay = relayLine(out.append)
    relay("logic", "hello")
    relay("office", "world")
    assert out == ["logic  | hello\n", "office | world\n"]
