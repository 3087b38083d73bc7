"""Each of the five service commands as a real process: start, plugins, stop, bad config."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from peek_platform.services import ALL_SERVICES, FIELD, LOGIC

pytestmark = pytest.mark.integration

SERVICE_IDS = [spec.key for spec in ALL_SERVICES]


def lineIndex(command, pattern: str) -> int:
    """Index of the first output line matching ``pattern``; fails naming it if absent."""
    regex = re.compile(pattern)
    for index, line in enumerate(command.lines):
        if regex.search(line):
            return index
    pytest.fail(f"no line matching {pattern!r} in output:\n{command.output()}")


@pytest.fixture(scope="module")
def servicesRoot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Home root of the five services started together."""
    return tmp_path_factory.mktemp("services-root")


@pytest.fixture(scope="module")
def runningServices(servicesRoot, testPlugins, moduleProcesses) -> dict:
    """All five service commands linked to one logic, each enabling both test plugins.

    Each config.json holds only the plugins, the secret and where to listen and connect,
    so the services must write back the rest.
    """
    linked = moduleProcesses.linkedServices(
        servicesRoot,
        plugins=[testPlugins.first, testPlugins.second],
        pluginsDir=testPlugins.directory,
    )
    for spec in ALL_SERVICES:
        linked.commands[spec.key].waitForLine(rf"{spec.vortexName} started: ")
    return linked.commands


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=SERVICE_IDS)
def test_service_loads_then_starts_plugins_in_order(runningServices, testPlugins, spec):
    """The service loads both plugins, then starts them in enabled order, and says so."""
    command = runningServices[spec.key]
    command.waitForLine(rf"{spec.vortexName} started: 2 plugins started, 0 failed, 0 skipped")
    first, second = testPlugins.first, testPlugins.second
    order = [
        lineIndex(command, rf"ITEST {first} load"),
        lineIndex(command, rf"ITEST {second} load"),
        lineIndex(command, rf"ITEST {first} start"),
        lineIndex(command, rf"ITEST {second} start"),
    ]
    assert order == sorted(order)


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=SERVICE_IDS)
def test_service_logs_start_line_to_its_log_file(runningServices, servicesRoot, spec):
    """The start line (service, version, pid, home) is in the log file in the home."""
    command = runningServices[spec.key]
    home = servicesRoot / spec.homeDirName
    logText = (home / spec.logFileName).read_text(encoding="utf-8")
    assert re.search(
        rf"Starting {spec.vortexName} \S+ \(pid {command.pid}, home {re.escape(str(home))}\)",
        logText,
    )


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=SERVICE_IDS)
def test_service_writes_back_missing_defaults(runningServices, servicesRoot, testPlugins, spec):
    """Missing settings are written back into config.json; the given ones are kept."""
    written = json.loads((servicesRoot / spec.homeDirName / "config.json").read_text())
    assert written["plugin"]["enabled"] == [testPlugins.first, testPlugins.second]
    assert "lifecycleDeadlineSeconds" in written["plugin"]
    assert "level" in written["logging"]


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=SERVICE_IDS)
def test_sigterm_stops_and_unloads_in_reverse_and_exits_0(runningServices, testPlugins, spec):
    """SIGTERM: plugins stop in reverse order, then unload in reverse order; exit status 0."""
    command = runningServices[spec.key]
    command.signal(signal.SIGTERM)
    assert command.wait() == 0
    first, second = testPlugins.first, testPlugins.second
    order = [
        lineIndex(command, rf"ITEST {second} stop"),
        lineIndex(command, rf"ITEST {first} stop"),
        lineIndex(command, rf"ITEST {second} unload"),
        lineIndex(command, rf"ITEST {first} unload"),
    ]
    assert order == sorted(order)


def test_first_run_creates_home_writes_defaults_and_asks_for_the_secret(homeRoot, processes):
    """With no home at all, a service that links to logic creates the home, writes a full
    default config.json, and exits 2 naming dataExchange.secret, which it cannot make up."""
    home = homeRoot / FIELD.homeDirName
    command = processes.service(FIELD, homeRoot, home=home)
    assert command.wait() == 2
    assert "dataExchange.secret is empty" in command.output()
    written = json.loads((home / "config.json").read_text())
    assert written["plugin"]["enabled"] == []
    assert written["logging"]["level"] == "INFO"
    assert written["dataExchange"]["secret"] == ""


def test_logic_first_run_generates_its_secrets(homeRoot, processes, writeServiceConfig):
    """Logic given only where to listen generates the data exchange secret and the admin
    recovery password into its config.json, and starts."""
    home = homeRoot / LOGIC.homeDirName
    writeServiceConfig(LOGIC, home, settings={"dataExchange.secret": ""})
    command = processes.service(LOGIC, homeRoot, home=home)
    command.waitForLine(rf"{LOGIC.vortexName} started: 0 plugins started")
    written = json.loads((home / "config.json").read_text())
    assert len(written["dataExchange"]["secret"]) >= 16
    assert len(written["admin"]["recoveryPassword"]) >= 16
    command.signal(signal.SIGINT)
    assert command.wait() == 0


def test_home_defaults_to_peek_home_root(homeRoot, processes, writeServiceConfig):
    """Without --home, the service uses $PEEK_HOME_ROOT/<homeDirName>."""
    home = homeRoot / LOGIC.homeDirName
    writeServiceConfig(LOGIC, home)
    command = processes.service(LOGIC, homeRoot)
    command.waitForLine(rf"home {re.escape(str(home))}\)")
    command.signal(signal.SIGTERM)
    assert command.wait() == 0


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=SERVICE_IDS)
def test_malformed_config_exits_2_with_one_line(homeRoot, processes, spec):
    """A malformed config.json: exit status 2, one path:line:col line on stderr, file kept."""
    home = homeRoot / spec.homeDirName
    home.mkdir()
    configPath = home / "config.json"
    original = b'{\n  // operator notes\n  "logging": {"level": "INFO",,}\n}\n'
    configPath.write_bytes(original)
    command = processes.service(spec, homeRoot, home=home, separateStderr=True)
    status = command.wait()
    stderr = command.stderrText()
    assert status == 2
    assert re.fullmatch(rf"{re.escape(str(configPath))}:\d+:\d+: .+\n", stderr)
    assert command.lines == []
    assert configPath.read_bytes() == original


def test_second_signal_forces_exit_when_stop_hangs(
    homeRoot, testPlugins, processes, writeServiceConfig
):
    """A second signal during a hung graceful stop exits at once with 128+signum."""
    home = homeRoot / LOGIC.homeDirName
    writeServiceConfig(LOGIC, home, plugins=[testPlugins.first, testPlugins.hanging])
    command = processes.service(LOGIC, homeRoot, home=home, pluginsDir=testPlugins.directory)
    command.waitForLine(rf"{LOGIC.vortexName} started: 2 plugins started")
    command.signal(signal.SIGTERM)
    command.waitForLine(rf"ITEST {testPlugins.hanging} stop")
    command.signal(signal.SIGINT)
    assert command.wait() == 128 + signal.SIGINT
    command.waitForLine(r"received SIGINT again during the graceful stop; exiting now")
    assert not re.search(rf"ITEST {testPlugins.first} (stop|unload)", command.output())
