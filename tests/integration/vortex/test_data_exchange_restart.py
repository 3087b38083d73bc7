"""All five services over the data exchange: SIGKILL logic, restart it, everyone is back."""

from __future__ import annotations

import json
import time

import pytest

from peek_platform.services import ALL_SERVICES, LOGIC

pytestmark = pytest.mark.integration


def waitForStatus(peekStatus, home, predicate, timeout: float = 15.0) -> dict:
    """Poll ``peek status --json`` until ``predicate(status)``; fail with the last one."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        out = peekStatus(home, expectOk=False)
        if out.returncode == 0:
            status = json.loads(out.stdout)
            if predicate(status):
                return status
        time.sleep(0.2)
    pytest.fail(f"status condition not reached within {timeout} s; last status: {status}")


def allFiveUp(status: dict) -> bool:
    """Every service reported, is connected, and has its plugin started."""
    return all(
        s["reported"] and s["connected"] and [p["state"] for p in s["plugins"]] == ["started"]
        for s in status["services"]
    ) and len(status["services"]) == len(ALL_SERVICES)


def test_services_survive_logic_sigkill_and_relink(
    writeConfigs, processes, homeRoot, testPlugins, peekStatus
):
    """SIGKILL logic: the others log the link down and keep running; after logic restarts
    they relink within seconds and peek status shows all five with their plugins."""
    homes = writeConfigs()
    commands = {
        spec.key: processes.service(
            spec, homeRoot, home=homes[spec.key], pluginsDir=testPlugins.directory
        )
        for spec in ALL_SERVICES
    }
    status = waitForStatus(peekStatus, homes["logic"], allFiveUp)
    assert [s["serviceKey"] for s in status["services"]] == [s.key for s in ALL_SERVICES]
    assert all(s["plugins"][0]["name"] == testPlugins.first for s in status["services"])

    commands["logic"].kill()
    for spec in ALL_SERVICES[1:]:
        commands[spec.key].waitForLine(r"data exchange link down with peek-logic-service")
        assert commands[spec.key].process.poll() is None

    down = peekStatus(homes["logic"], expectOk=False)
    assert down.returncode == 1 and "cannot link" in down.stderr

    restarted = processes.service(
        LOGIC, homeRoot, home=homes["logic"], pluginsDir=testPlugins.directory
    )
    restarted.waitForLine(r"data exchange listening on")
    for spec in ALL_SERVICES[1:]:
        commands[spec.key].waitForLine(r"data exchange link up with peek-logic-service", count=2)
    status = waitForStatus(peekStatus, homes["logic"], allFiveUp)
    assert {s["pid"] for s in status["services"] if s["serviceKey"] == "logic"} == {restarted.pid}
