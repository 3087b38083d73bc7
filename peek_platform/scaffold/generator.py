"""Create a new plugin project by copying the noop plugin and renaming it throughout.

The package files come from the installed ``peek_plugin_noop`` package; the project-level
files (``setup.py``, ``README.rst``, ...) come from ``template/`` beside this module, which
holds copies of the noop project's own files, so this works from a non-editable install.
A test keeps those copies identical to ``plugins/peek-plugin-noop/``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from peek_platform.plugin.discovery import packageDirectory
from peek_platform.scaffold.names import PluginNaming, renamer

#: The plugin every new plugin is copied from.
TEMPLATE_NAMING = PluginNaming(packageName="peek_plugin_noop", shortName="noop")

#: Directory of the project-level template files.
PROJECT_TEMPLATE_DIR = Path(__file__).resolve().parent / "template"

#: Suffix of every file in ``template/``; it keeps them out of packaging and linting.
TEMPLATE_SUFFIX = ".tmpl"

#: Prefix standing for a leading dot in ``template/`` (package data globs skip dot files).
DOT_PREFIX = "dot-"

_SKIPPED_DIR_NAMES = frozenset(
    {"__pycache__", "build", "dist", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
)
_SKIPPED_FILE_SUFFIXES = (".pyc", ".pyo")


#: A reST section adornment line: one punctuation character repeated (3+ times, so that a
#: literal-block marker ``::`` is never taken for one).
_RST_ADORNMENT_RE = re.compile(r"([=\-~^\"'`#*+:.])\1{2,}")


class ScaffoldError(Exception):
    """The new plugin project cannot be created; the message says why and what to do."""


class ProjectExistsError(ScaffoldError):
    """The target directory already exists; scaffolding never overwrites anything."""


def findTemplatePackageDir(packageName: str = TEMPLATE_NAMING.packageName) -> Path:
    """Directory of the installed template plugin package, found without importing it."""
    rootDir = packageDirectory(packageName)
    if rootDir is None:
        raise ScaffoldError(
            f"the template plugin {packageName!r} is not installed; install it with "
            f"'pip install {packageName.replace('_', '-')}' (or 'pip install -e "
            f"plugins/{packageName.replace('_', '-')}' in a Peek checkout)"
        )
    return rootDir


def _isSkipped(relPath: PurePosixPath) -> bool:
    """True for build output and caches, which never belong in a new project."""
    if relPath.suffix in _SKIPPED_FILE_SUFFIXES:
        return True
    return any(part in _SKIPPED_DIR_NAMES or part.endswith(".egg-info") for part in relPath.parts)


def readTree(rootDir: Path) -> dict[PurePosixPath, bytes]:
    """Every file under ``rootDir`` except build output and caches, by relative path."""
    files: dict[PurePosixPath, bytes] = {}
    for path in sorted(rootDir.rglob("*")):
        relPath = PurePosixPath(path.relative_to(rootDir).as_posix())
        if path.is_file() and not _isSkipped(relPath):
            files[relPath] = path.read_bytes()
    return files


def projectTemplateFiles(templateDir: Path = PROJECT_TEMPLATE_DIR) -> dict[PurePosixPath, bytes]:
    """The noop project's top-level files (outside its package), by project-relative path."""
    files: dict[PurePosixPath, bytes] = {}
    for relPath, content in readTree(templateDir).items():
        if relPath.suffix != TEMPLATE_SUFFIX:
            continue
        name = relPath.name.removesuffix(TEMPLATE_SUFFIX)
        if name.startswith(DOT_PREFIX):
            name = "." + name.removeprefix(DOT_PREFIX)
        files[relPath.with_name(name)] = content
    return files


def _fitRstAdornments(text: str) -> str:
    """Lengthen reST title over- and underlines that a longer new name made too short."""
    lines = text.split("\n")
    for index in range(len(lines) - 1):
        title, underline = lines[index].rstrip(), lines[index + 1]
        if not title or _RST_ADORNMENT_RE.fullmatch(title):
            continue
        if not _RST_ADORNMENT_RE.fullmatch(underline) or len(underline) >= len(title):
            continue
        lines[index + 1] = underline[0] * len(title)
        if index > 0 and lines[index - 1] == underline:
            lines[index - 1] = lines[index + 1]
    return "\n".join(lines)


def renderProject(
    target: PluginNaming,
    packageDir: Path | None = None,
    templateDir: Path = PROJECT_TEMPLATE_DIR,
) -> dict[PurePosixPath, bytes]:
    """Every file of the new project, renamed for ``target``, by project-relative path."""
    packageDir = findTemplatePackageDir() if packageDir is None else packageDir
    sourceFiles = projectTemplateFiles(templateDir)
    packageRoot = PurePosixPath(TEMPLATE_NAMING.packageName)
    for relPath, content in readTree(packageDir).items():
        sourceFiles[packageRoot / relPath] = content

    rename = renamer(TEMPLATE_NAMING, target)
    rendered: dict[PurePosixPath, bytes] = {}
    for relPath, content in sourceFiles.items():
        try:
            text = rename(content.decode("utf-8"))
        except UnicodeDecodeError:
            pass  # Binary files (icons, images) are copied as they are.
        else:
            if relPath.suffix == ".rst":
                text = _fitRstAdornments(text)
            content = text.encode("utf-8")
        rendered[PurePosixPath(rename(relPath.as_posix()))] = content
    return rendered


def createPluginProject(
    target: PluginNaming,
    parentDir: Path,
    *,
    packageDir: Path | None = None,
    templateDir: Path = PROJECT_TEMPLATE_DIR,
) -> tuple[Path, list[PurePosixPath]]:
    """Write the new project as ``parentDir/<projectName>``; return it and its files.

    The project is built in a temporary directory beside the target and renamed into
    place, so a failure leaves nothing half-written.
    """
    if not parentDir.is_dir():
        raise ScaffoldError(f"directory {str(parentDir)!r} does not exist; create it first")
    projectDir = parentDir / target.projectName
    if projectDir.exists() or projectDir.is_symlink():
        raise ProjectExistsError(
            f"{str(projectDir)!r} already exists; remove it or choose another --dir"
        )
    files = renderProject(target, packageDir, templateDir)

    stagingDir = Path(tempfile.mkdtemp(prefix=f".{target.projectName}.", dir=parentDir))
    try:
        # A plain mkdir (not mkdtemp's private 0700 mode) gives the project normal permissions.
        builtDir = stagingDir / target.projectName
        builtDir.mkdir()
        for relPath, content in files.items():
            path = builtDir / relPath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        os.rename(builtDir, projectDir)
    finally:
        shutil.rmtree(stagingDir, ignore_errors=True)
    return projectDir, sorted(files)
