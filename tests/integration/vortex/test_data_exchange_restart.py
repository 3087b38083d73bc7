"""All five services over the data exchange: SIGKILL logic, restart it, everyone is back."""

from __future__ import annotations

import json

import pytest

from peek_platform.services import ALL_SERVICES, LOGIC

pytestmark = pytest.mark.integration


def waitForStatus(peekStatus, waitFor, home, port, predicate) -> dict:
    """Poll ``peek status --json`` until ``predicate(status)``; fail with the last answer."""
    last: list = [None]

    def check():
        out = peekStatus(home, port, expectOk=False)
        last[0] = out.stdout if out.returncode == 0 else out.stderr
        status = json.loads(out.stdout) if out.returncode == 0 else None
        return status if status is not None and predicate(status) else None

    return waitFor(check, what=f"peek status condition {predicate.__name__}; last answer {last}")


def allFiveUp(status: dict) -> bool:
    """Every service reported, is connected, and has its plugin started."""
    return all(
        s["reported"] and s["connected"] and [p["state"] for p in s["plugins"]] == ["started"]
        for s in status["services"]
    ) and len(status["services"]) == len(ALL_SERVICES)


def test_services_survive_logic_sigkill_and_relink(
    processes, homeRoot, testPlugins, peekStatus, waitFor, fastLinkSettings, writeServiceConfig
):
    """SIGKILL logic: the others log the link down and keep running; after logic restarts
    on the same port they relink within seconds and peek status shows all five with their
    plugins."""
    linked = processes.linkedServices(
        homeRoot,
        plugins=[testPlugins.first],
        pluginsDir=testPlugins.directory,
        settings=fastLinkSettings,
    )
    commands, homes, port = linked.commands, linked.homes, linked.dataExchangePort
    status = waitForStatus(peekStatus, waitFor, homes["logic"], port, allFiveUp)
    assert [s["serviceKey"] for s in status["services"]] == [s.key for s in ALL_SERVICES]
    assert all(s["plugins"][0]["name"] == testPlugins.first for s in status["services"])

    commands["logic"].kill()
    for spec in ALL_SERVICES[1:]:
        commands[spec.key].waitForLine(r"data exchange link down with peek-logic-service")
        assert commands[spec.key].process.poll() is None

    down = peekStatus(homes["logic"], port, expectOk=False)
    assert down.returncode == 1 and "cannot link" in down.stderr

    # The others know logic by the port it had: the restarted logic must listen there.
    writeServiceConfig(
        LOGIC,
        homes["logic"],
        plugins=[testPlugins.first],
        dataExchangePort=port,
        settings=linked.settings,
    )
    restarted = processes.service(
        LOGIC, homeRoot, home=homes["logic"], pluginsDir=testPlugins.directory
    )
    assert restarted.dataExchangePort() == port
    for spec in ALL_SERVICES[1:]:
        commands[spec.key].waitForLines(r"data exchange link up with peek-logic-service", count=2)
    status = waitForStatus(peekStatus, waitFor, homes["logic"], port, allFiveUp)
    assert {s["pid"] for s in status["services"] if s["serviceKey"] == "logic"} == {restarted.pid}
