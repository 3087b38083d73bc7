"""A freshly scaffolded plugin installs with pip and runs on all five services (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peek_platform.scaffold.generator import createPluginProject
from peek_platform.scaffold.names import PluginNaming
from peek_platform.services import ALL_SERVICES, FIELD, LOGIC, OFFICE, WORKER

pytestmark = pytest.mark.integration

#: The data exchange secret the five test services share.
SECRET = "scaffold-install-test-secret-0123"


def _pipInstall(projectDir: Path, target: Path) -> None:
    """Install the project (not editable) into ``target``, as a user's pip would."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(projectDir),
        ],
        check=True,
        capture_output=True,
    )


def _writeConfigs(homeRoot: Path, pluginName: str, port: int) -> None:
    """One config.json per service: the plugin enabled, shared secret, test ports."""
    for spec in ALL_SERVICES:
        home = homeRoot / spec.homeDirName
        home.mkdir(parents=True)
        config: dict = {
            "plugin": {"enabled": [pluginName]},
            "dataExchange": {"port": port, "secret": SECRET},
        }
        site = {LOGIC.key: "admin", FIELD.key: FIELD.key, OFFICE.key: OFFICE.key}.get(spec.key)
        if site is not None:
            config["httpServer"] = {site: {"sitePort": 0, "bindAddress": "127.0.0.1"}}
        if spec.key == WORKER.key:
            config["celery"] = {"workerConcurrency": 1}
        (home / "config.json").write_text(json.dumps(config), encoding="utf-8")


def test_scaffoldedPluginInstallsAndRunsEverywhere(
    noopOnPath: Path, tmp_path: Path, startService, freePort
) -> None:
    """pip installs the new project with its data files; each of the five services starts
    it (logic migrating its schema) and stops it cleanly."""
    name = "peek_plugin_tutorial"
    projectDir, _ = createPluginProject(PluginNaming.fromArgument("tutorial"), tmp_path)
    target = tmp_path / "site"
    _pipInstall(projectDir, target)
    package = target / name
    assert (package / "plugin_package.json").is_file()
    assert (package / "_private/alembic/script.py.mako").is_file()
    assert len(list((package / "_private/alembic/versions").glob("*_tutorialitem_*.py"))) == 3
    assert (package / "_private/device-app/index.html").is_file()
    assert (package / "_private/admin-app/admin.mjs").is_file()

    homeRoot = tmp_path / "root"
    _writeConfigs(homeRoot, name, freePort())
    env = {**os.environ, "PEEK_HOME_ROOT": str(homeRoot), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = str(target)
    services = {}
    for spec in ALL_SERVICES:
        services[spec.key] = startService(spec, homeRoot / spec.homeDirName, env)
        if spec.key == LOGIC.key:
            services[spec.key].waitForLine(rf"{spec.vortexName} started: ")
    for spec in ALL_SERVICES:
        services[spec.key].waitForLine(
            rf"{spec.vortexName} started: 1 plugins started, 0 failed, 0 skipped"
        )
        started = services[spec.key].waitForLine(rf"INFO ({name}\S*): Started$")
        assert started.group(1).startswith(f"{name}._private.{spec.key}.")
    services[LOGIC.key].waitForLine(rf"{name}: schema pl_tutorial is at its newest revision")

    for spec in reversed(ALL_SERVICES):
        assert services[spec.key].stop() == 0
        services[spec.key].waitForLine(rf"INFO {name}\._private\.{spec.key}\.\w+: Unloaded$")
