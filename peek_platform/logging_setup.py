"""Per-service logging: rotating log file in the home, optional console (docs/dev/config.rst)."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TextIO

from twisted.logger import LogBeginner, STDLibLogObserver, globalLogBeginner

from peek_platform.config.service_config import ServiceConfig
from peek_platform.services import ServiceSpec

#: e.g. ``2026-11-21 13:40:01,123 INFO peek_platform.plugin.loader: Loaded peek_plugin_x``
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_BYTES_PER_MB = 1024 * 1024


class LoggingHandle:
    """What ``setupLogging`` changed on a logger, so it can be undone."""

    def __init__(
        self, logger: logging.Logger, handlers: list[logging.Handler], previousLevel: int
    ) -> None:
        self.logger = logger
        self.handlers = list(handlers)
        self._previousLevel = previousLevel

    def close(self) -> None:
        """Remove and close the handlers ``setupLogging`` added and restore the level."""
        for handler in self.handlers:
            self.logger.removeHandler(handler)
            handler.close()
        self.handlers = []
        self.logger.setLevel(self._previousLevel)


def setupLogging(
    spec: ServiceSpec,
    home: Path,
    config: ServiceConfig,
    *,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
) -> LoggingHandle:
    """Send log records to ``<home>/<spec.logFileName>`` and, if configured, the console.

    Level, rotation size and count come from the ``logging.*`` keys of ``config``.
    ``stream`` is the console (default ``sys.stderr``); ``logger`` defaults to the root
    logger. Close the returned handle to undo the setup.
    """
    target = logging.getLogger() if logger is None else logger
    formatter = logging.Formatter(LOG_FORMAT)
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)

    handlers: list[logging.Handler] = [
        RotatingFileHandler(
            home / spec.logFileName,
            maxBytes=config["logging.rotateSizeMb"] * _BYTES_PER_MB,
            backupCount=config["logging.rotationsToKeep"],
            encoding="utf-8",
        )
    ]
    if config["logging.logToStdout"]:
        handlers.append(logging.StreamHandler(sys.stderr if stream is None else stream))

    handle = LoggingHandle(target, handlers, target.level)
    target.setLevel(config["logging.level"])
    for handler in handlers:
        handler.setFormatter(formatter)
        target.addHandler(handler)
    return handle


def routeTwistedLogging(beginner: LogBeginner | None = None) -> None:
    """Send Twisted's log events to Python logging (logger ``twisted``).

    Call once per process, from the service runner: Twisted allows one ``beginLoggingTo``
    on its global beginner and warns on a second call. Standard output is not redirected
    into the log, so the console handler keeps writing to the real terminal.
    """
    target = globalLogBeginner if beginner is None else beginner
    target.beginLoggingTo([STDLibLogObserver()], redirectStandardIO=False)
