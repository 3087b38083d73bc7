"""``peek plugin disable|enable|restart`` against real logic and field processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from peek_platform.services import FIELD, LOGIC
from peek_platform.testing.ServiceProcess import consoleScript

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def platform(tmp_path_factory, testPlugins, moduleProcesses):
    """Logic and field linked, both running the two test plugins; ``peek`` env and URL."""
    root = tmp_path_factory.mktemp("control-root")
    linked = moduleProcesses.linkedServices(
        root,
        [LOGIC, FIELD],
        plugins=[testPlugins.first, testPlugins.second],
        pluginsDir=testPlugins.directory,
    )
    for spec in (LOGIC, FIELD):
        linked.commands[spec.key].waitForLine(rf"{spec.vortexName} started: ")
    linked.commands[LOGIC.key].waitForLine(rf"data exchange link up with {FIELD.vortexName}")
    return linked


def peek(platform, *args: str) -> subprocess.CompletedProcess:
    """Run ``peek ARGS --home <logic home> --url <logic's exchange>``."""
    url = f"ws://127.0.0.1:{platform.dataExchangePort}/vortexws"
    argv = [consoleScript("peek"), *args, "--home", str(platform.homes[LOGIC.key]), "--url", url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def enabledIn(home: Path) -> list[str]:
    """``plugin.enabled`` as written in ``home/config.json`` now."""
    return json.loads((home / "config.json").read_text())["plugin"]["enabled"]


def pluginStates(platform) -> dict[tuple[str, str], str]:
    """(service key, plugin) -> state, from ``peek status --json``."""
    result = peek(platform, "status", "--json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    return {(s["serviceKey"], p["name"]): p["state"] for s in services for p in s["plugins"] or []}


def test_disable_then_enable_on_field_keeps_the_process(platform, testPlugins, waitFor):
    """Disable on field stops and unloads the plugin in the running field process (same
    pid), logic keeps it, field's config drops it; enable loads and starts it again."""
    field = platform.commands[FIELD.key]
    second = testPlugins.second
    pid = field.pid
    mark = len(field.lines)

    result = peek(platform, "plugin", "disable", second, "--service", "field")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "field (" in result.stdout and f"pid {pid}): disable {second}: now disabled" in (
        result.stdout
    )
    field.waitForLine(rf"ITEST {second} stop", after=mark)
    field.waitForLine(rf"ITEST {second} unload", after=mark)
    assert field.exitStatus is None and field.pid == pid
    assert second not in enabledIn(platform.homes[FIELD.key])
    assert second in enabledIn(platform.homes[LOGIC.key])
    states = waitFor(
        lambda: (s := pluginStates(platform)).get(("field", second)) == "disabled" and s,
        what="field reporting the plugin disabled",
    )
    assert states[("logic", second)] == "started"

    mark = len(field.lines)
    result = peek(platform, "plugin", "enable", second, "--service", "field")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"enable {second}: now started" in result.stdout
    field.waitForLine(rf"ITEST {second} load", after=mark)
    field.waitForLine(rf"ITEST {second} start", after=mark)
    assert field.pid == pid and field.exitStatus is None
    assert enabledIn(platform.homes[FIELD.key]) == [testPlugins.first, second]
    waitFor(
        lambda: pluginStates(platform).get(("field", second)) == "started",
        what="field reporting the plugin started again",
    )


def test_restart_on_every_service_answers_for_each(platform, testPlugins):
    """Restart without --service runs on logic and field, each answering for itself, and
    leaves both configs as they were."""
    first = testPlugins.first
    before = {key: enabledIn(home) for key, home in platform.homes.items()}

    result = peek(platform, "plugin", "restart", first, "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    answers = json.loads(result.stdout)
    assert sorted(a["service"] for a in answers) == ["field", "logic"]
    for answer in answers:
        assert answer["ok"] is True
        assert (answer["result"]["action"], answer["result"]["state"]) == ("restart", "started")
    assert {key: enabledIn(home) for key, home in platform.homes.items()} == before


def test_disabling_a_required_plugin_stops_its_dependant_first(platform, testPlugins):
    """Disable first on field: second (which requires it) stops and unloads before it, the
    answer names second, and enable brings both back, first before second."""
    field = platform.commands[FIELD.key]
    first, second = testPlugins.first, testPlugins.second
    mark = len(field.lines)

    result = peek(platform, "plugin", "disable", first, "--service", "field", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    [answer] = json.loads(result.stdout)
    assert (answer["result"]["state"], answer["result"]["dependants"]) == ("disabled", [second])
    steps = [
        field.waitForLine(rf"ITEST {name} {step}", after=mark).string
        for name, step in ((second, "stop"), (second, "unload"), (first, "stop"), (first, "unload"))
    ]
    assert [field.lines.index(line, mark) for line in steps] == sorted(
        field.lines.index(line, mark) for line in steps
    )

    mark = len(field.lines)
    result = peek(platform, "plugin", "enable", first, "--service", "field")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"also restarted: {second}" in result.stdout
    firstStart = field.waitForLine(rf"ITEST {first} start", after=mark).string
    secondStart = field.waitForLine(rf"ITEST {second} start", after=mark).string
    assert field.lines.index(firstStart, mark) < field.lines.index(secondStart, mark)


def test_a_plugin_running_nowhere_exits_1_saying_so(platform):
    """A name no service runs: every service says there is nothing to do, exit status 1."""
    result = peek(platform, "plugin", "disable", "peek_plugin_not_here")

    assert result.returncode == 1
    assert "field (" in result.stdout
    assert "nothing to do, peek_plugin_not_here: is not enabled on the field service" in (
        result.stdout
    )
    assert "does not run on any of these services; nothing was done" in result.stdout
