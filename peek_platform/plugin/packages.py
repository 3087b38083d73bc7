"""Plugin distributions: what a wheel or project directory provides, what is installed, pip,
and the copy of an installed version to roll back to (docs/admin/plugin-install.rst).

pip always runs as ``<this interpreter> -m pip`` in a child process, so it installs into the
environment the services run from; its output is streamed line by line to the caller.
"""

from __future__ import annotations

import base64
import csv
import email.parser
import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from peek_platform.plugin.errors import PluginError
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata
from peek_plugin_base.PluginPackageFileConfig import PLUGIN_PACKAGE_FILE

#: Package name prefixes of Peek plugins.
PLUGIN_PREFIXES: tuple[str, ...] = ("peek_plugin_", "peek_core_")
#: Directory of the logic home holding the copies of replaced versions.
PACKAGE_CACHE_DIR = "plugin_packages"
#: dist-info files describing one installation rather than the distribution: not repacked.
_INSTALLATION_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
#: A wheel file name: name-version(-build)?-python-abi-platform.whl (PEP 427).
_WHEEL_NAME = re.compile(
    r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)(-[^-]+)?-[^-]+-[^-]+-[^-]+\.whl$"
)


class PluginPackageError(Exception):
    """Installing, upgrading or rolling back a plugin distribution failed."""


class PackageRefused(PluginPackageError):
    """Refused before anything was installed: not a Peek plugin, wrong plugin or version."""


def canonicalName(name: str) -> str:
    """A distribution name compared the way pip does (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def isPluginPackageName(name: str) -> bool:
    """Whether ``name`` is a plugin's package name (``peek_plugin_*`` or ``peek_core_*``)."""
    return name.isidentifier() and name.startswith(PLUGIN_PREFIXES)


@dataclass(frozen=True)
class PackageSource:
    """A wheel or project directory and the plugins it provides, read without installing."""

    path: Path
    isWheel: bool
    #: The plugins by package name, their ``plugin_package.json`` validated.
    plugins: Mapping[str, PluginMetadata]
    #: From a wheel's metadata; ``None`` for a directory (known once pip built it).
    distName: str | None = None
    version: str | None = None

    @property
    def pluginNames(self) -> list[str]:
        """The plugin package names, sorted."""
        return sorted(self.plugins)


def inspectSource(path: Path) -> PackageSource:
    """What the wheel or project directory at ``path`` provides; ``PluginPackageError``
    naming the file when it is not a Peek plugin with a valid plugin_package.json."""
    path = Path(path)
    if path.is_dir():
        return _inspectDirectory(path)
    if not path.exists():
        raise PackageRefused(f"{path}: no such file or directory")
    return inspectWheel(path)


def inspectWheel(path: Path) -> PackageSource:
    """The distribution name, version and plugins of the wheel at ``path``."""
    match = _WHEEL_NAME.match(path.name)
    if match is None or not zipfile.is_zipfile(path):
        raise PackageRefused(
            f"{path}: not a wheel (a NAME-VERSION-TAGS.whl zip file) nor a project directory"
        )
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        metadataFiles = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(metadataFiles) != 1:
            raise PackageRefused(
                f"{path}: a wheel holds one *.dist-info/METADATA, found {len(metadataFiles)}"
            )
        metadata = email.parser.Parser().parsestr(wheel.read(metadataFiles[0]).decode("utf-8"))
        distName, version = metadata.get("Name"), metadata.get("Version")
        if not distName or not version:
            raise PackageRefused(f"{path}: its METADATA has no Name or Version")
        packages = sorted(
            {n.split("/", 1)[0] for n in names if n.count("/") == 1 and n.endswith("/__init__.py")}
        )
        with tempfile.TemporaryDirectory(prefix="peek-wheel-") as scratch:
            plugins: dict[str, PluginMetadata] = {}
            for package in packages:
                if not isPluginPackageName(package):
                    continue
                member = f"{package}/{PLUGIN_PACKAGE_FILE}"
                if member not in names:
                    raise PackageRefused(
                        f"{path}: package {package} has no {PLUGIN_PACKAGE_FILE}, so it is not "
                        f"a Peek plugin"
                    )
                (Path(scratch) / package).mkdir()
                (Path(scratch) / member).write_bytes(wheel.read(member))
                plugins[package] = _validMetadata(path, package, Path(scratch) / package)
    if not plugins:
        provided = ", ".join(packages) or "no package"
        raise PackageRefused(
            f"{path}: not a Peek plugin: it provides {provided}, no peek_plugin_* or "
            f"peek_core_* package"
        )
    return PackageSource(path, True, plugins, distName, version)


def _inspectDirectory(path: Path) -> PackageSource:
    """The plugins of a project directory (its packages at the top or under ``src``)."""
    if not (path / "setup.py").exists() and not (path / "pyproject.toml").exists():
        raise PackageRefused(f"{path}: not a project directory (no setup.py or pyproject.toml)")
    plugins: dict[str, PluginMetadata] = {}
    for parent in (path, path / "src"):
        if not parent.is_dir():
            continue
        for child in sorted(parent.iterdir()):
            if isPluginPackageName(child.name) and (child / "__init__.py").exists():
                plugins[child.name] = _validMetadata(path, child.name, child)
    if not plugins:
        raise PackageRefused(
            f"{path}: not a Peek plugin project: no peek_plugin_* or peek_core_* package "
            f"directory with an __init__.py"
        )
    return PackageSource(path, False, plugins)


def _validMetadata(source: Path, package: str, rootDir: Path) -> PluginMetadata:
    try:
        return readPluginMetadata(package, rootDir)
    except PluginError as e:
        raise PackageRefused(f"{source}: {e}") from e


@dataclass(frozen=True)
class InstalledDistribution:
    """The installed distribution providing a plugin package."""

    distName: str
    version: str
    #: The project directory of an editable install, else ``None``.
    editableDir: Path | None = None
    #: The plugin packages it provides.
    plugins: tuple[str, ...] = field(default=())


def installedDistribution(pluginName: str) -> InstalledDistribution | None:
    """The distribution installed in this environment that provides ``pluginName``."""
    importlib.invalidate_caches()
    names = importlib.metadata.packages_distributions().get(pluginName, [])
    if not names:
        wanted = canonicalName(pluginName)
        names = [
            d.metadata["Name"]
            for d in importlib.metadata.distributions()
            if d.metadata["Name"] and canonicalName(d.metadata["Name"]) == wanted
        ]
    if not names:
        return None
    dist = importlib.metadata.distribution(names[0])
    provided = (dist.read_text("top_level.txt") or pluginName).split()
    return InstalledDistribution(
        distName=dist.metadata["Name"],
        version=dist.version,
        editableDir=_editableDir(dist),
        plugins=tuple(p for p in provided if isPluginPackageName(p)) or (pluginName,),
    )


def _editableDir(dist: importlib.metadata.Distribution) -> Path | None:
    """The project directory of an editable install, from its ``direct_url.json``."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not document.get("dir_info", {}).get("editable"):
        return None
    url = urlparse(document.get("url", ""))
    return Path(unquote(url.path)) if url.scheme == "file" else None


@dataclass(frozen=True)
class RollbackArtefact:
    """How to put back a replaced version: a wheel rebuilt from its installed files, or
    the project directory of an editable install."""

    distName: str
    version: str
    path: Path
    editable: bool = False

    def pipArgs(self) -> list[str]:
        """``pip install`` arguments reinstalling exactly this version, without its deps."""
        target = ["-e", str(self.path)] if self.editable else [str(self.path)]
        return ["--force-reinstall", "--no-deps", "--no-index", *target]

    def __str__(self) -> str:
        how = "editable project" if self.editable else "wheel"
        return f"{self.distName} {self.version} ({how} {self.path})"


def makeRollbackArtefact(installed: InstalledDistribution, cacheDir: Path) -> RollbackArtefact:
    """What :meth:`Pip.reinstall` needs to put ``installed`` back after a failed upgrade."""
    if installed.editableDir is not None:
        if not installed.editableDir.is_dir():
            raise PluginPackageError(
                f"{installed.distName} {installed.version} is an editable install of "
                f"{installed.editableDir}, which no longer exists: it cannot be put back"
            )
        return RollbackArtefact(
            installed.distName, installed.version, installed.editableDir, editable=True
        )
    wheel = repackWheel(installed.distName, cacheDir)
    return RollbackArtefact(installed.distName, installed.version, wheel)


def repackWheel(distName: str, cacheDir: Path) -> Path:
    """Rebuild a wheel of installed ``distName`` from the files its RECORD lists; its path.

    Compiled ``.pyc`` files and files outside the environment's site directory (console
    scripts, which pip writes again from ``entry_points.txt``) are left out.
    """
    dist = importlib.metadata.distribution(distName)
    files = dist.files
    if not files:
        raise PluginPackageError(
            f"{distName} {dist.version}: its installed files are not recorded (no RECORD); it "
            f"cannot be copied for a rollback"
        )
    distInfo = next(
        (str(f).split("/", 1)[0] for f in files if str(f).endswith(".dist-info/METADATA")), None
    )
    if distInfo is None:
        raise PluginPackageError(
            f"{distName} {dist.version} is not installed from a wheel (no .dist-info); "
            f"reinstall it with pip first"
        )
    contents: dict[str, bytes] = {}
    for packagePath in files:
        name = str(packagePath).replace(os.sep, "/")
        if name.startswith(("../", "/")) or "/__pycache__/" in f"/{name}" or name.endswith(".pyc"):
            continue
        if name.startswith(distInfo + "/") and name.split("/", 1)[1] in _INSTALLATION_FILES:
            continue
        location = Path(str(dist.locate_file(packagePath)))
        try:
            contents[name] = location.read_bytes()
        except OSError as e:
            raise PluginPackageError(
                f"{distName} {dist.version}: cannot copy installed file {location}: {e}"
            ) from e
    wheelInfo = contents.get(f"{distInfo}/WHEEL", b"").decode("utf-8", "replace")
    tags = re.findall(r"^Tag:\s*(\S+)\s*$", wheelInfo, re.MULTILINE)
    if not tags:
        raise PluginPackageError(f"{distName} {dist.version}: its WHEEL file names no Tag")
    fileName = f"{re.sub(r'[-_.]+', '_', distName)}-{dist.version.replace('-', '_')}-{tags[0]}.whl"
    cacheDir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = cacheDir / fileName
    writeWheel(target, distInfo, contents)
    return target


def writeWheel(target: Path, distInfo: str, contents: Mapping[str, bytes]) -> None:
    """Write ``contents`` (archive name -> bytes) as a wheel with a fresh RECORD, atomically."""
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(data)])
    writer.writerow([f"{distInfo}/RECORD", "", ""])
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in contents.items():
            wheel.writestr(name, data)
        wheel.writestr(f"{distInfo}/RECORD", record.getvalue())
    os.replace(partial, target)


class PipError(PluginPackageError):
    """pip exited with an error; the message ends with its last lines of output."""


@dataclass
class Pip:
    """Runs ``python -m pip install`` for this environment, streaming its output to ``say``.

    ``options`` are added to every install (``--no-index``, ``--find-links DIR``...).
    """

    say: Callable[[str], None]
    python: str = sys.executable
    options: Sequence[str] = ()

    def install(self, source: Path, *, force: bool = False) -> list[dict[str, Any]]:
        """Install the wheel or directory ``source``; pip's report of what it installed
        (``[]`` when the same version was already installed)."""
        extra = ["--force-reinstall", "--no-deps"] if force else []
        return self._install([*extra, str(source)])

    def reinstall(self, artefact: RollbackArtefact) -> None:
        """Put back the version ``artefact`` was made from, without touching dependencies."""
        self._install(artefact.pipArgs(), withOptions=False)

    def _install(self, args: list[str], *, withOptions: bool = True) -> list[dict[str, Any]]:
        with tempfile.TemporaryDirectory(prefix="peek-pip-") as scratch:
            report = Path(scratch) / "report.json"
            options = list(self.options) if withOptions else []
            self.run(["install", "--report", str(report), *options, *args])
            try:
                document = json.loads(report.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                document = {}
        importlib.invalidate_caches()
        installed = document.get("install", [])
        return installed if isinstance(installed, list) else []

    def run(self, args: Sequence[str]) -> None:
        """Run ``python -m pip ARGS``; ``PipError`` with its last lines when it fails."""
        argv = [self.python, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"]
        self.say("$ " + " ".join(argv))
        tail: list[str] = []
        with subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                line = line.rstrip()
                self.say("  " + line)
                tail = [*tail[-9:], line]
            status = process.wait()
        if status != 0:
            lastLines = "\n".join(f"    {line}" for line in tail if line.strip())
            raise PipError(f"pip {args[0]} failed with exit status {status}:\n{lastLines}")
