"""``run_peek_platform`` as a real process: five services, restart after a crash, clean stop."""

from __future__ import annotations

import json
import os
import signal

import pytest

from peek_platform.launcher import PORT_OFFSETS
from peek_platform.services import ALL_SERVICES, FIELD

pytestmark = pytest.mark.integration


def childPids(launcher, key: str, count: int = 1) -> list[int]:
    """Pids the launcher logged for ``key`` once it has started it ``count`` times."""
    matches = launcher.waitForLines(rf"launcher INFO {key}: started \(pid (\d+)\)", count=count)
    return [int(match.group(1)) for match in matches]


def summaryLine(spec) -> str:
    """Pattern of a relayed child's summary line with the noop plugin started."""
    return rf"^{spec.key}\s* \| .*{spec.vortexName} started: 1 plugins started, 0 failed"


@pytest.fixture
def startLauncher(homeRoot, processes, freePortBlock):
    """``startLauncher()``: run_peek_platform on a free port block, sites on loopback; it
    returns the launcher command and the base port."""

    def start():
        basePort = freePortBlock(list(PORT_OFFSETS.values()))
        launcher = processes.launcher(
            homeRoot, "--base-port", str(basePort), "--bind-address", "127.0.0.1"
        )
        return launcher, basePort

    return start


def startedChildren(launcher, processes) -> dict[str, int]:
    """Pid of each service once the launcher started it; each is killed at teardown."""
    pids = {spec.key: childPids(launcher, spec.key)[0] for spec in ALL_SERVICES}
    processes.orphanGroups.extend(pids.values())
    return pids


def test_launcher_runs_restarts_and_stops_all_services(
    homeRoot, processes, pidAlive, startLauncher
):
    """First run: all five start with noop on the asked port block; a SIGKILLed child is
    restarted; SIGTERM stops every child and the launcher exits 0."""
    launcher, basePort = startLauncher()
    pids = startedChildren(launcher, processes)
    for spec in ALL_SERVICES:
        launcher.waitForLine(summaryLine(spec))
        config = json.loads((homeRoot / spec.homeDirName / "config.json").read_text())
        assert config["plugin"]["enabled"] == ["peek_plugin_noop"]
        assert config["dataExchange"]["port"] == basePort + PORT_OFFSETS["dataExchange.port"]
    launcher.waitForLine(rf"admin site listening on http://127\.0\.0\.1:{basePort + 10}/")

    os.kill(pids[FIELD.key], signal.SIGKILL)
    launcher.waitForLine(r"field: was killed by SIGKILL after running [\d.]+ s; restarting in 1 s")
    restartedPid = childPids(launcher, FIELD.key, count=2)[1]
    processes.orphanGroups.append(restartedPid)
    launcher.waitForLines(summaryLine(FIELD), count=2)

    launcher.signal(signal.SIGTERM)
    assert launcher.wait(timeout=20) == 0
    for spec in ALL_SERVICES:
        launcher.waitForLine(rf"^{spec.key}\s* \| .*{spec.vortexName} exits with status 0")
    assert [pid for pid in [*pids.values(), restartedPid] if pidAlive(pid)] == []


def test_ctrl_c_stops_every_service_gracefully(processes, pidAlive, startLauncher):
    """Ctrl-C (SIGINT to the launcher's process group) stops each service gracefully once:
    the services are in their own groups, so none sees the SIGINT and the forwarded SIGTERM
    as two signals."""
    launcher, _ = startLauncher()
    pids = startedChildren(launcher, processes)
    for spec in ALL_SERVICES:
        launcher.waitForLine(summaryLine(spec))

    os.killpg(launcher.pid, signal.SIGINT)
    assert launcher.wait(timeout=20) == 0
    for spec in ALL_SERVICES:
        launcher.waitForLine(rf"^{spec.key}\s* \| .*{spec.vortexName} exits with status 0")
    assert "again during the graceful stop" not in launcher.output()
    assert [pid for pid in pids.values() if pidAlive(pid)] == []
