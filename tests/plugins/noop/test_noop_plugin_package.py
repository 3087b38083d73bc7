"""The noop plugin's plugin_package.json, version and names."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from peek_platform.plugin.metadata import readPluginMetadata
from peek_platform.services import ALL_SERVICES


def test_metadataIsValidForThisPlatform(noopOnPath: Path) -> None:
    """plugin_package.json passes the platform's validation, contract version included."""
    metadata = readPluginMetadata("peek_plugin_noop", noopOnPath)
    assert metadata.title == "Noop Plugin"
    assert metadata.peekPlatformVersion == ">=3.0,<4"


def test_requiresEveryServiceWithASectionEach(noopOnPath: Path) -> None:
    """The plugin requires all five services and has a settings section for each."""
    metadata = readPluginMetadata("peek_plugin_noop", noopOnPath)
    serviceKeys = [spec.key for spec in ALL_SERVICES]
    assert list(metadata.requiresServices) == serviceKeys
    assert all(isinstance(metadata.raw.get(key), dict) for key in serviceKeys)


def test_versionAgreesEverywhere(noopOnPath: Path) -> None:
    """``__version__`` equals ``plugin.version``, which setup.py reads for the distribution."""
    package = importlib.import_module("peek_plugin_noop")
    document = json.loads((noopOnPath / "plugin_package.json").read_text("utf-8"))
    assert package.__version__ == document["plugin"]["version"]
    built = subprocess.run(
        [sys.executable, "setup.py", "--version"],
        cwd=noopOnPath.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert built.stdout.split()[-1] == package.__version__


def test_pluginNamesDeriveFromThePackageName(noopOnPath: Path) -> None:
    """PluginNames gives the package name, its filt, tuple prefix, observable and processor."""
    names = importlib.import_module("peek_plugin_noop._private.PluginNames")
    assert names.noopPluginName == "peek_plugin_noop"
    assert names.noopFilt == {"plugin": names.noopPluginName}
    assert names.noopTuplePrefix == names.noopPluginName + "."
    assert names.noopObservableName == names.noopPluginName
    assert names.noopActionProcessorName == names.noopPluginName
