"""Versions for diagnostics: Python, the platform, each plugin and the key libraries."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from peek_platform import __version__
from peek_platform.plugin.state import PluginStatus

#: Distributions whose versions explain most platform behaviour (absent ones are skipped).
KEY_LIBRARIES: tuple[str, ...] = (
    "twisted",
    "autobahn",
    "sqlalchemy",
    "alembic",
    "celery",
    "kombu",
    "redis",
    "psycopg2-binary",
    "psycopg2",
    "ldap3",
    "argon2-cffi",
    "prometheus-client",
    "json-cfg",
)


def libraryVersions(names: Iterable[str] = KEY_LIBRARIES) -> dict[str, str]:
    """The installed version of each of ``names`` that is installed, by distribution name."""
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def versionsDocument(statuses: Iterable[PluginStatus]) -> dict[str, Any]:
    """Python, platform, plugin (from the loader's statuses) and library versions."""
    return {
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "os": platform.platform(),
        "peekPlatform": __version__,
        "plugins": {status.name: status.version for status in statuses},
        "libraries": libraryVersions(),
    }
