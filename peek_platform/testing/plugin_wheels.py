"""Tiny plugin wheels and throwaway environments for tests of ``peek plugin install|upgrade``.

A test writes a wheel of a small plugin with storage (``storagePluginWheel``) and installs it
into a virtual environment of its own (``ThrowawayVenv``), created with
``--system-site-packages`` and without pip of its own, so the platform and pip come from
the environment running the tests, which is never modified.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from peek_platform.plugin.packages import writeWheel

#: The entry-hook module of the test plugin: logs ``PKGTEST <name> <step> <version>``.
_PLUGIN_INIT = '''"""A test plugin with storage, version {version}."""

import logging

import sqlalchemy as sa

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import PluginLogicStorageEntryHookABC

logger = logging.getLogger(__name__)
VERSION = "{version}"
METADATA = sa.MetaData(schema="{schema}")


class _Steps:
    def load(self):
        logger.info("PKGTEST %s load %s", self.name, VERSION)

    def start(self):
        logger.info("PKGTEST %s start %s", self.name, VERSION)

    def stop(self):
        logger.info("PKGTEST %s stop %s", self.name, VERSION)

    def unload(self):
        logger.info("PKGTEST %s unload %s", self.name, VERSION)


class LogicHook(_Steps, PluginLogicEntryHookABC, PluginLogicStorageEntryHookABC):
    @property
    def dbMetadata(self):
        return METADATA


class FieldHook(_Steps, PluginFieldEntryHookABC):
    pass


def peekLogicEntryHook():
    return LogicHook


def peekFieldEntryHook():
    return FieldHook
'''

_ENV_PY = """import sqlalchemy as sa

from peek_plugin_base.storage.AlembicEnvBase import AlembicEnvBase

AlembicEnvBase(sa.MetaData(schema="{schema}")).run()
"""

_REVISION = '''"""{revision}"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {downRevision!r}
branch_labels = None
depends_on = None


def upgrade():
{upgrade}


def downgrade():
    pass
'''


@dataclass(frozen=True)
class Revision:
    """One Alembic revision of the test plugin; ``upgrade`` is the body (indented here)."""

    revision: str
    downRevision: str | None
    upgrade: str


def storagePluginFiles(
    packageName: str,
    version: str,
    revisions: Sequence[Revision],
    requiresServices: Sequence[str] = ("logic", "field"),
) -> dict[str, str]:
    """The files of a plugin package with storage and ``revisions``, by archive name."""
    schema = "pl_" + packageName.removeprefix("peek_plugin_")
    document = {
        "plugin": {"title": packageName, "packageName": packageName, "version": version},
        "requiresServices": list(requiresServices),
        "storage": {"alembicDir": "_alembic"},
    }
    files = {
        f"{packageName}/__init__.py": _PLUGIN_INIT.format(version=version, schema=schema),
        f"{packageName}/plugin_package.json": json.dumps(document, indent=2),
        f"{packageName}/_alembic/env.py": _ENV_PY.format(schema=schema),
    }
    for rev in revisions:
        body = "\n".join("    " + line for line in rev.upgrade.strip().splitlines())
        files[f"{packageName}/_alembic/versions/{rev.revision}.py"] = _REVISION.format(
            revision=rev.revision,
            downRevision=rev.downRevision,
            upgrade=body.format(schema=schema),
        )
    return files


def buildWheel(directory: Path, distName: str, version: str, files: Mapping[str, str]) -> Path:
    """Write a pure-Python wheel of ``files`` into ``directory``; its path."""
    normal = distName.replace("-", "_")
    distInfo = f"{normal}-{version}.dist-info"
    contents = {name: text.encode() for name, text in files.items()}
    contents[f"{distInfo}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {distName}\nVersion: {version}\n"
    ).encode()
    contents[f"{distInfo}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: peek-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    packages = sorted({name.split("/", 1)[0] for name in files})
    contents[f"{distInfo}/top_level.txt"] = ("\n".join(packages) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{normal}-{version}-py3-none-any.whl"
    writeWheel(target, distInfo, contents)
    return target


class ThrowawayVenv:
    """A virtual environment in ``path`` seeing this environment's packages; pip installs
    go into it only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)],
            check=True,
        )

    @property
    def python(self) -> str:
        """The environment's interpreter."""
        return str(self.path / "bin" / "python")

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for its processes: no index for pip, unbuffered output."""
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env.update({"PIP_NO_INDEX": "1", "PYTHONUNBUFFERED": "1", **extra})
        return env

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGS`` in the environment; its output captured."""
        return subprocess.run(
            [self.python, *args], capture_output=True, text=True, env=self.env(**extra), timeout=300
        )

    def pipInstall(self, *args: str) -> None:
        """``pip install --no-deps ARGS`` into the environment; fails the test if pip does."""
        result = self.run("-m", "pip", "install", "--no-deps", "--disable-pip-version-check", *args)
        if result.returncode != 0:
            raise AssertionError(f"pip install {args} failed:\n{result.stdout}\n{result.stderr}")

    def version(self, distName: str) -> str | None:
        """The version of ``distName`` the environment reports (``None``: not installed)."""
        result = self.run(
            "-c",
            "import importlib.metadata as m, sys\n"
            "try: print(m.version(sys.argv[1]))\n"
            "except m.PackageNotFoundError: print('')",
            distName,
        )
        return result.stdout.strip() or None
