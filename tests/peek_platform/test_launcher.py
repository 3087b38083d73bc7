"""Tests of the single-host launcher's first-run config, child commands and output relay."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from peek_platform.config import loadServiceConfig
from peek_platform.launcher import (
    buildArgumentParser,
    childCommands,
    relayLine,
    shareDataExchangeSecret,
    writeFirstRunConfigs,
)
from peek_platform.services import AGENT, ALL_SERVICES, LOGIC, ServiceSpec, homeRoot
from peek_platform.vortex.settings import SECRET_KEY, writeSecret

LOGIC_SECRET = "logic-secret-of-more-than-16-chars"
OTHER_SECRET = "another-secret-of-more-than-16-chars"


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


def secretOf(root: Path, spec: ServiceSpec) -> str:
    """The data exchange secret in the service's config.json under root."""
    return loadServiceConfig(spec, root / spec.homeDirName, writeBack=False)[SECRET_KEY]


def test_first_run_configs_share_one_new_secret(tmp_path: Path):
    """Every first-run config.json gets the same, newly generated data exchange secret."""
    writeFirstRunConfigs(tmp_path)
    secrets = {secretOf(tmp_path, spec) for spec in ALL_SERVICES}
    assert len(secrets) == 1
    assert len(secrets.pop()) >= 16


def test_first_run_configs_take_logics_existing_secret(tmp_path: Path):
    """Configs written next to an existing logic config get logic's secret."""
    existing = tmp_path / LOGIC.homeDirName / "config.json"
    existing.parent.mkdir()
    existing.write_text(json.dumps({"dataExchange": {"secret": LOGIC_SECRET}}))
    writeFirstRunConfigs(tmp_path)
    assert {secretOf(tmp_path, spec) for spec in ALL_SERVICES} == {LOGIC_SECRET}


def test_share_secret_copies_logics_secret_into_configs_without_one(tmp_path: Path):
    """Existing configs without a secret get logic's; only those files are reported."""
    writeFirstRunConfigs(tmp_path, secret="")
    logicConfig = loadServiceConfig(LOGIC, tmp_path / LOGIC.homeDirName, writeBack=False)
    writeSecret(logicConfig, LOGIC_SECRET)
    changed = shareDataExchangeSecret(tmp_path)
    others = [spec for spec in ALL_SERVICES if spec is not LOGIC]
    assert changed == [tmp_path / spec.homeDirName / "config.json" for spec in others]
    assert {secretOf(tmp_path, spec) for spec in ALL_SERVICES} == {LOGIC_SECRET}
    assert shareDataExchangeSecret(tmp_path) == []


def test_share_secret_gives_logic_another_services_secret(tmp_path: Path):
    """Logic without a secret takes one another service already has, and so do the rest."""
    writeFirstRunConfigs(tmp_path, secret="")
    agentHome = tmp_path / AGENT.homeDirName
    writeSecret(loadServiceConfig(AGENT, agentHome, writeBack=False), LOGIC_SECRET)
    changed = shareDataExchangeSecret(tmp_path)
    assert tmp_path / LOGIC.homeDirName / "config.json" in changed
    assert agentHome / "config.json" not in changed
    assert {secretOf(tmp_path, spec) for spec in ALL_SERVICES} == {LOGIC_SECRET}


def test_share_secret_leaves_a_different_secret_alone_with_a_warning(tmp_path: Path, caplog):
    """A config whose secret differs from logic's is not rewritten; a WARNING names it."""
    writeFirstRunConfigs(tmp_path, secret=LOGIC_SECRET)
    agentHome = tmp_path / AGENT.homeDirName
    writeSecret(loadServiceConfig(AGENT, agentHome, writeBack=False), OTHER_SECRET)
    with caplog.at_level(logging.WARNING, logger="peek_platform.launcher"):
        assert shareDataExchangeSecret(tmp_path) == []
    assert secretOf(tmp_path, AGENT) == OTHER_SECRET
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert str(agentHome / "config.json") in caplog.text


def test_share_secret_reports_a_commented_config_it_cannot_fill(tmp_path: Path, caplog):
    """A config without a secret that has comments is left byte for byte; an ERROR says why."""
    writeFirstRunConfigs(tmp_path, secret=LOGIC_SECRET)
    agentConfig = tmp_path / AGENT.homeDirName / "config.json"
    commented = '{\n  // the agent\n  "plugin": {"enabled": []}\n}\n'
    agentConfig.write_text(commented)
    with caplog.at_level(logging.WARNING, logger="peek_platform.launcher"):
        assert shareDataExchangeSecret(tmp_path) == []
    assert agentConfig.read_text() == commented
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert SECRET_KEY in caplog.text
