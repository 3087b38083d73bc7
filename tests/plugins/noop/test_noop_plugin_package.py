"""The noop plugin's plugin_package.json, version, names, storage and settings."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from peek_platform.plugin.metadata import readPluginMetadata
from peek_platform.services import ALL_SERVICES
from peek_platform.storage.plugin_storage import checkMetadataSchema, pluginStorage
from peek_plugin_base.settings.PluginSetting import parseSettingDeclarations


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


def test_storageIsSchemaPlNoopWithFourLinearRevisions(noopOnPath: Path) -> None:
    """The storage section names an Alembic dir of four revisions in one line; the metadata
    is bound to the plugin's schema ``pl_noop``."""
    document = json.loads((noopOnPath / "plugin_package.json").read_text("utf-8"))
    storage = pluginStorage("peek_plugin_noop", noopOnPath, document)
    assert storage is not None and storage.schema == "pl_noop"
    base = importlib.import_module("peek_plugin_noop._private.storage.DeclarativeBase")
    checkMetadataSchema(storage, base.metadata)
    scripts = ScriptDirectory(str(storage.alembicDir))
    revisions = list(scripts.walk_revisions())
    assert len(revisions) == 4
    assert revisions[-1].down_revision is None
    assert [r.down_revision for r in revisions[:-1]] == [r.revision for r in revisions[1:]]


def test_editPermissionIsDeclared(noopOnPath: Path) -> None:
    """plugin_package.json declares exactly ``peek_plugin_noop.edit``, with a description;
    it is PluginNames' ``noopEditPermission`` (test_noop_identity.py shows it required)."""
    metadata = readPluginMetadata("peek_plugin_noop", noopOnPath)
    names = importlib.import_module("peek_plugin_noop._private.PluginNames")
    assert [p.name for p in metadata.permissions] == ["peek_plugin_noop.edit"]
    assert names.noopEditPermission == "peek_plugin_noop.edit"
    assert metadata.permissions[0].description


def test_settingsAreDeclaredWithDefaults(noopOnPath: Path) -> None:
    """Two settings are declared: ``greeting`` (str, "hello") and ``incrementStep`` (int, 1)."""
    document = json.loads((noopOnPath / "plugin_package.json").read_text("utf-8"))
    settings = parseSettingDeclarations("peek_plugin_noop", document["settings"])
    assert [(s.name, s.type, s.default) for s in settings] == [
        ("greeting", "str", "hello"),
        ("incrementStep", "int", 1),
    ]


def test_workerIncludesTheTaskModule(noopOnPath: Path) -> None:
    """The worker hook lists the module defining ``upsertNoopItem`` in celeryAppIncludes."""
    hookModule = importlib.import_module("peek_plugin_noop._private.worker.WorkerEntryHook")
    hook = hookModule.WorkerEntryHook("peek_plugin_noop", str(noopOnPath), None)
    (moduleName,) = hook.celeryAppIncludes
    tasks = importlib.import_module(moduleName)
    assert tasks.upsertNoopItem.name == f"{moduleName}.upsertNoopItem"
