"""``run_peek_platform --dev`` as a real process: editing a plugin restarts it where it runs."""

from __future__ import annotations

import json
import os

import pytest

from peek_platform.launcher import PORT_OFFSETS, writeFirstRunConfigs
from peek_platform.services import ALL_SERVICES, FIELD, LOGIC
from peek_platform.testing.ServiceProcess import consoleScript

pytestmark = pytest.mark.integration

PLUGIN = "peek_plugin_devtest"

#: Runs on logic and field; logs its module's VERSION at each start.
INIT = """\
import logging

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC

VERSION = "{version}"
logger = logging.getLogger(__name__)


def _hook(base):
    class EntryHook(base):
        def load(self):
            pass

        def start(self):
            logger.info("DEVTEST start %s", VERSION)

        def stop(self):
            pass

        def unload(self):
            pass

    return EntryHook


def peekLogicEntryHook():
    return _hook(PluginLogicEntryHookABC)


def peekFieldEntryHook():
    return _hook(PluginFieldEntryHookABC)
"""


def writePlugin(directory, version):
    """(Re)write the devtest plugin's ``__init__.py`` with ``version``."""
    (directory / "__init__.py").write_text(INIT.format(version=version))


def test_editing_a_plugin_restarts_it_on_its_services(homeRoot, processes, freePortBlock, tmp_path):
    """Under --dev, rewriting the plugin's __init__.py restarts it on logic and field (the
    new code's start line appears in both), and a change that does not compile is refused
    with the plugin left running."""
    pluginRoot = tmp_path / "plugins"
    package = pluginRoot / PLUGIN
    package.mkdir(parents=True)
    writePlugin(package, "one")
    (package / "plugin_package.json").write_text(
        json.dumps(
            {
                "plugin": {"title": "Dev test", "packageName": PLUGIN, "version": "1.0.0"},
                "requiresServices": ["logic", "field"],
            }
        )
    )
    basePort = freePortBlock(list(PORT_OFFSETS.values()))
    writeFirstRunConfigs(homeRoot, basePort=basePort, bindAddress="127.0.0.1")
    for spec in ALL_SERVICES:
        path = homeRoot / spec.homeDirName / "config.json"
        document = json.loads(path.read_text())
        document["plugin"]["enabled"] = [PLUGIN]
        path.write_text(json.dumps(document))
    env = dict(os.environ, PEEK_HOME_ROOT=str(homeRoot), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(pluginRoot), env.get("PYTHONPATH")) if p)
    argv = [consoleScript("run_peek_platform"), "--home-root", str(homeRoot), "--dev"]
    launcher = processes.command(argv, env)
    for spec in ALL_SERVICES:
        pid = launcher.waitForLine(rf"launcher INFO {spec.key}: started \(pid (\d+)\)").group(1)
        processes.orphanGroups.append(int(pid))
    for spec in (LOGIC, FIELD):
        launcher.waitForLine(rf"^{spec.key}\s* \| .*DEVTEST start one")
    launcher.waitForLine(rf"dev: watching {PLUGIN} \(")
    launcher.waitForLine(rf"{FIELD.vortexName} started: ")
    # A reload reaches the services linked to logic at that moment.
    launcher.waitForLine(rf"^logic\s* \| .*data exchange link up with {FIELD.vortexName}")

    mark = len(launcher.lines)
    writePlugin(package, "two")
    for spec in (LOGIC, FIELD):
        launcher.waitForLine(rf"^{spec.key}\s* \| .*DEVTEST start two", after=mark)
        launcher.waitForLine(
            rf"dev: {PLUGIN} restarted on {spec.key} \(pid \d+\) in \d+ ms", after=mark
        )
    launcher.waitForLine(rf"dev: {PLUGIN} changed \(__init__.py\); restarting it", after=mark)

    mark = len(launcher.lines)
    (package / "__init__.py").write_text("VERSION = (\n")
    launcher.waitForLine(rf"dev: {PLUGIN} changed \(__init__.py\) but does not compile", after=mark)
    assert not any("restarting it" in line for line in launcher.lines[mark:])
