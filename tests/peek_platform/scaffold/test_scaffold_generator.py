"""Rendering and writing a new plugin project from the noop template."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed

from peek_platform.plugin.metadata import readPluginMetadata
from peek_platform.scaffold.generator import (
    PROJECT_TEMPLATE_DIR,
    TEMPLATE_NAMING,
    ProjectExistsError,
    ScaffoldError,
    createPluginProject,
    findTemplatePackageDir,
    projectTemplateFiles,
    readTree,
    renderProject,
)
from peek_platform.scaffold.names import PluginNaming
from peek_plugin_base.PeekVortexUtil import peekFieldName, peekLogicName
from vortex.handler.TupleActionProcessor import (
    ACTION_KEY_PREFIX,
    TupleActionProcessorDelegateABC,
)
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import RequestIdentity
from vortex.VortexFactory import VortexFactory

TUTORIAL = PluginNaming.fromArgument("tutorial")


def _projectFiles(projectDir: Path) -> dict[PurePosixPath, bytes]:
    """Every file of a project outside its package, skipping build output and caches."""
    return {
        relPath: content
        for relPath, content in readTree(projectDir).items()
        if relPath.parts[0] != TEMPLATE_NAMING.packageName
    }


def test_projectTemplateMatchesNoopProject(noopProjectDir: Path) -> None:
    """The project-level templates are byte-for-byte the noop project's own files.

    After editing a file of plugins/peek-plugin-noop, copy it to
    peek_platform/scaffold/template/<name>.tmpl (a leading dot becomes ``dot-``).
    """
    assert projectTemplateFiles() == _projectFiles(noopProjectDir)


def test_renderingNoopReproducesTheNoopProject(noopOnPath: Path, noopProjectDir: Path) -> None:
    """Rendering the template for the noop name gives the noop project, file for file."""
    rendered = renderProject(TEMPLATE_NAMING, noopOnPath)
    assert rendered == readTree(noopProjectDir)


def test_templatePackageIsFoundWithoutImporting(
    noopOnPath: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The template package directory is the noop package first on sys.path, not imported."""
    monkeypatch.delitem(sys.modules, "peek_plugin_noop", raising=False)
    assert findTemplatePackageDir() == noopOnPath
    assert "peek_plugin_noop" not in sys.modules


def test_missingTemplatePackageIsAnError() -> None:
    """A template package that is not installed raises an error saying how to install it."""
    with pytest.raises(ScaffoldError, match="pip install peek-plugin-absent"):
        findTemplatePackageDir("peek_plugin_absent")


def test_newProjectHasNoTraceOfNoop(noopOnPath: Path, tmp_path: Path) -> None:
    """Every path and every file of a new project is renamed: no 'noop' in any case."""
    projectDir, files = createPluginProject(TUTORIAL, tmp_path)

    assert projectDir == tmp_path / "peek-plugin-tutorial"
    written = sorted(
        PurePosixPath(p.relative_to(projectDir).as_posix()) for p in projectDir.rglob("*")
    )
    assert [p for p in written if (projectDir / p).is_file()] == files
    assert not [p for p in written if re.search("noop", str(p), re.IGNORECASE)]
    for relPath in files:
        assert not re.search(b"noop", (projectDir / relPath).read_bytes(), re.IGNORECASE), relPath


def test_newProjectMirrorsTheTemplateLayout(noopOnPath: Path, tmp_path: Path) -> None:
    """The new project has one file per template file, under the renamed package."""
    _, files = createPluginProject(TUTORIAL, tmp_path)
    expected = renderProject(TUTORIAL, noopOnPath)
    assert files == sorted(expected)
    assert PurePosixPath("peek_plugin_tutorial/_private/logic/LogicEntryHook.py") in files
    assert PurePosixPath("peek_plugin_tutorial/plugin_package.json") in files


def test_existingDirectoryIsRefusedAndKept(noopOnPath: Path, tmp_path: Path) -> None:
    """An existing project directory is an error and stays exactly as it was."""
    existing = tmp_path / "peek-plugin-tutorial"
    existing.mkdir()
    (existing / "mine.txt").write_text("keep me")

    with pytest.raises(ProjectExistsError, match="already exists"):
        createPluginProject(TUTORIAL, tmp_path)

    assert [p.name for p in existing.iterdir()] == ["mine.txt"]
    assert (existing / "mine.txt").read_text() == "keep me"


def test_failedWriteLeavesNothingBehind(
    noopOnPath: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails part-way leaves neither the project nor the staging directory."""
    written: list[Path] = []
    realWrite = Path.write_bytes

    def failingWrite(path: Path, data: bytes) -> int:
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(path)
        return realWrite(path, data)

    monkeypatch.setattr(Path, "write_bytes", failingWrite)
    with pytest.raises(OSError, match="No space left"):
        createPluginProject(TUTORIAL, tmp_path)

    assert len(written) == 3
    assert list(tmp_path.iterdir()) == []


def test_buildOutputAndCachesAreSkipped(tmp_path: Path) -> None:
    """__pycache__, *.pyc, *.egg-info and build dirs of the template are not copied."""
    package = tmp_path / "template" / "peek_plugin_noop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for junk in ("__pycache__/x.pyc", "build/lib/x.py", "x.egg-info/PKG-INFO", "stale.pyc"):
        (package / junk).parent.mkdir(parents=True, exist_ok=True)
        (package / junk).write_text("junk")

    rendered = renderProject(TUTORIAL, package)

    packageFiles = [p for p in rendered if p.parts[0] == "peek_plugin_tutorial"]
    assert packageFiles == [PurePosixPath("peek_plugin_tutorial/__init__.py")]


def test_binaryFilesAreCopiedUnchanged(tmp_path: Path) -> None:
    """A file that is not UTF-8 text (an icon) is copied byte for byte, path renamed."""
    package = tmp_path / "peek_plugin_noop"
    package.mkdir()
    icon = b"\x89PNG\r\n\x1a\nnoop\xff\xfe"
    (package / "noop-icon.png").write_bytes(icon)

    rendered = renderProject(TUTORIAL, package)

    assert rendered[PurePosixPath("peek_plugin_tutorial/tutorial-icon.png")] == icon


def test_rstTitlesGrowWithALongerName(noopOnPath: Path) -> None:
    """README title over- and underlines are lengthened to fit a longer plugin name."""
    readme = renderProject(PluginNaming.fromArgument("much_longer_name"), noopOnPath)[
        PurePosixPath("README.rst")
    ].decode("utf-8")
    overline, title, underline = readme.splitlines()[:3]
    assert title == "MuchLongerName Peek Plugin"
    assert overline == underline == "=" * len(title)


def test_templateFileNamesSuitPackageData() -> None:
    """Template files end in .tmpl and have no leading dot, so package_data globs ship them."""
    names = [p.name for p in PROJECT_TEMPLATE_DIR.iterdir() if p.is_file()]
    assert names
    assert all(not name.startswith(".") and name.endswith(".tmpl") for name in names)


class _RecordingDelegate(TupleActionProcessorDelegateABC):
    """Stands in for a generated plugin's main controller: notes the actions it is given."""

    def __init__(self) -> None:
        self.actions: list[Any] = []

    def processTupleAction(self, tupleAction: Any) -> None:
        self.actions.append(tupleAction)


def _pushFor(
    factory: VortexFactory, pluginName: str, action: Any, identity: RequestIdentity
) -> Any:
    """Dispatch ``action`` to the plugin's processor as field would for ``identity``; the
    header ``result`` of the one answer (None when the action was applied)."""
    filt = {"plugin": pluginName, "key": ACTION_KEY_PREFIX + pluginName, "msgId": "scaffold-1"}
    envelope = PayloadEnvelope(
        filt, Payload(filt, tuples=[action]).toEncodedPayload(), identity=identity
    )
    answers: list[bytes] = []

    def sendResponse(msg: bytes) -> Deferred[None]:
        answers.append(msg)
        return succeed(None)

    factory.payloadIO.process(
        PayloadEnvelope.fromVortexMsg(envelope.toVortexMsg()),
        vortexName=peekFieldName,
        sendResponse=sendResponse,
    )
    assert len(answers) == 1, answers
    return PayloadEnvelope.fromVortexMsg(answers[0]).result


def test_newPluginDeclaresRequiresAndRecordsItsEditPermission(
    noopOnPath: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new plugin declares ``<plugin>.edit``; its increment action is refused ``forbidden``
    (naming it) for a user without it and reaches the controller for one holding it; its
    item records who changed it last, and its device page shows that."""
    naming = PluginNaming.fromArgument("guarded")
    projectDir, _ = createPluginProject(naming, tmp_path)
    package = projectDir / naming.packageName
    edit = "peek_plugin_guarded.edit"

    metadata = readPluginMetadata(naming.packageName, package)
    assert [p.name for p in metadata.permissions] == [edit]
    assert "last changed by" in (package / "_private/device-app/app.mjs").read_text("utf-8")

    monkeypatch.syspath_prepend(str(projectDir))
    prefix = naming.packageName + "._private."
    item = importlib.import_module(prefix + "storage.GuardedItem").GuardedItemTuple
    assert "lastChangedBy" in item.__table__.columns
    importlib.import_module(prefix + "tuples").loadPrivateTuples()
    increment = importlib.import_module(
        prefix + "tuples.GuardedIncrementActionTuple"
    ).GuardedIncrementActionTuple
    makeProcessor = importlib.import_module(
        prefix + "logic.TupleActionProcessor"
    ).makeTupleActionProcessorHandler

    factory = VortexFactory(peekLogicName).makeDefault()
    delegate = _RecordingDelegate()
    processor = makeProcessor(delegate)
    try:
        bob = RequestIdentity("local:bob", "bob", "d-b", "field", frozenset())
        refused = _pushFor(factory, naming.packageName, increment(itemId=1), bob)
        assert (refused["error"], refused["type"]) == ("forbidden", "PermissionError")
        assert repr(edit) in refused["message"]
        assert delegate.actions == []

        alice = RequestIdentity("local:alice", "alice", "d-a", "field", frozenset({edit}))
        assert _pushFor(factory, naming.packageName, increment(itemId=1), alice) is None
        assert [action.itemId for action in delegate.actions] == [1]
    finally:
        processor.shutdown()
        factory.shutdown()
