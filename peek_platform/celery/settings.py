"""Celery settings of one service, read from its ``config.json`` (``celery.*`` keys).

An empty ``celery.brokerUrl`` or ``celery.resultUrl`` means the embedded store: SQLite files
in ``<logic home>/celery/``. The logic service uses its own home; every other service uses
the logic home beside its own (``<home>/../peek-logic-service.home``), which is where
``run_peek_platform`` and the default homes put it, so logic and workers on one host share
the same queue without any server process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peek_platform.config import ConfigLookup
from peek_platform.services import LOGIC, ServiceSpec

#: Directory inside the logic home that holds the embedded broker and result store.
EMBEDDED_DIR_NAME = "celery"
#: File of the embedded broker's queue tables.
EMBEDDED_BROKER_FILE = "broker.sqlite"
#: File of the embedded result store.
EMBEDDED_RESULT_FILE = "results.sqlite"


@dataclass(frozen=True)
class CelerySettings:
    """Resolved Celery settings: URLs (never empty), worker sizing and time limits."""

    brokerUrl: str
    resultUrl: str
    workerConcurrency: int = 2
    prefetchMultiplier: int = 1
    taskTimeLimitSeconds: float = 600.0
    resultTimeoutSeconds: float = 600.0

    @property
    def brokerIsEmbedded(self) -> bool:
        """True when the broker is the embedded SQLite queue."""
        return self.brokerUrl.startswith("sqlite:")


def logicHomeFor(spec: ServiceSpec, home: Path) -> Path:
    """The logic service's home as seen from the service ``spec`` running in ``home``."""
    home = Path(home).absolute()
    return home if spec.key == LOGIC.key else home.parent / LOGIC.homeDirName


def embeddedBrokerUrl(logicHome: Path) -> str:
    """The URL of the embedded broker database under ``logicHome``."""
    return f"sqlite:///{Path(logicHome).absolute() / EMBEDDED_DIR_NAME / EMBEDDED_BROKER_FILE}"


def embeddedResultUrl(logicHome: Path) -> str:
    """The URL of the embedded result backend under ``logicHome`` (Celery ``db+`` scheme)."""
    path = Path(logicHome).absolute() / EMBEDDED_DIR_NAME / EMBEDDED_RESULT_FILE
    return f"db+sqlite:///{path}"


def celerySettingsFromConfig(config: ConfigLookup, spec: ServiceSpec, home: Path) -> CelerySettings:
    """Read the ``celery.*`` keys of a loaded service config; resolve empty URLs."""
    logicHome = logicHomeFor(spec, home)
    return CelerySettings(
        brokerUrl=config["celery.brokerUrl"] or embeddedBrokerUrl(logicHome),
        resultUrl=config["celery.resultUrl"] or embeddedResultUrl(logicHome),
        workerConcurrency=int(_optional(config, "celery.workerConcurrency", 2)),
        prefetchMultiplier=int(_optional(config, "celery.prefetchMultiplier", 1)),
        taskTimeLimitSeconds=float(config["celery.taskTimeLimitSeconds"]),
        resultTimeoutSeconds=float(config["celery.resultTimeoutSeconds"]),
    )


def _optional(config: ConfigLookup, key: str, default: Any) -> Any:
    """A key that only some services read (the worker sizing keys are not in logic's table)."""
    try:
        return config[key]
    except KeyError:
        return default
