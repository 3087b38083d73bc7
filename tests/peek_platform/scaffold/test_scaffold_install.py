"""A freshly scaffolded plugin installs with pip and runs on all five services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from peek_platform.scaffold.generator import createPluginProject
from peek_platform.scaffold.names import PluginNaming
from peek_platform.services import ALL_SERVICES

#: Runs the installed plugin through the real loader on every service; prints JSON.
_LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from twisted.internet.task import Clock
    from peek_platform.config import loadServiceConfig
    from peek_platform.platform_hook import PlatformHookBase
    from peek_platform.plugin.loader import PluginLoader
    from peek_platform.services import ALL_SERVICES

    name, home = sys.argv[1], Path(sys.argv[2])
    report = {}
    for spec in ALL_SERVICES:
        config = loadServiceConfig(spec, home, writeBack=False)
        factory = lambda plugin, root, loader, spec=spec, config=config: PlatformHookBase(
            spec, home, config, plugin, loader
        )
        loader = PluginLoader(spec, [name], factory, reactor=Clock())
        states = []
        for step in (loader.loadAll, loader.startAll, loader.stopAll, loader.unloadAll):
            step()
            states.append(loader.plugin(name).status.state.value)
        report[spec.key] = {
            "states": states,
            "reason": loader.plugin(name).status.reason,
            "hookModule": type(loader.plugin(name).entryHook).__module__,
        }
    report["packageFile"] = sys.modules[name].__file__
    print(json.dumps(report))
    """
)


def test_scaffoldedPluginInstallsAndRunsEverywhere(noopOnPath: Path, tmp_path: Path) -> None:
    """pip installs the new project into a target dir; it loads and unloads on every service."""
    projectDir, _ = createPluginProject(PluginNaming.fromArgument("tutorial"), tmp_path)
    target = tmp_path / "site"
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
    assert (target / "peek_plugin_tutorial" / "plugin_package.json").is_file()

    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, "peek_plugin_tutorial", str(tmp_path / "home")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    report = json.loads(run.stdout)

    assert Path(report.pop("packageFile")).is_relative_to(target)
    for spec in ALL_SERVICES:
        serviceReport = report[spec.key]
        assert serviceReport["states"] == ["loaded", "started", "stopped", "unloaded"], (
            serviceReport["reason"]
        )
        assert serviceReport["hookModule"].startswith(f"peek_plugin_tutorial._private.{spec.key}.")
