"""Where the logic service's database is: ``sqlalchemy.connectUrl`` resolved against the home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peek_platform.config import ConfigLookup
from peek_platform.services import LOGIC, ServiceSpec

#: File name of the embedded SQLite database in the logic service's home.
SQLITE_DATABASE_FILE = "peek.sqlite"


def embeddedSqliteUrl(logicHome: Path) -> str:
    """The URL of the embedded SQLite database of the logic service at ``logicHome``."""
    return f"sqlite:///{Path(logicHome).absolute() / SQLITE_DATABASE_FILE}"


def resolveConnectUrl(connectUrl: str, spec: ServiceSpec, home: Path) -> str:
    """The configured URL, or (when empty) the embedded SQLite file in the logic home.

    Logic uses its own home; another service (the worker) uses the logic home beside its
    own home, which is where the single-host layout puts it.
    """
    if connectUrl:
        return connectUrl
    logicHome = Path(home) if spec.key == LOGIC.key else Path(home).parent / LOGIC.homeDirName
    return embeddedSqliteUrl(logicHome)


def dbSettingsFromConfig(
    config: ConfigLookup, spec: ServiceSpec, home: Path
) -> tuple[str, dict[str, Any]]:
    """``(url, engineArgs)`` from a service config holding the ``sqlalchemy.*`` keys."""
    url = resolveConnectUrl(config["sqlalchemy.connectUrl"], spec, home)
    return url, dict(config["sqlalchemy.engineArgs"])
