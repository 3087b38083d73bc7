"""The service command ``diagnostics.collect``: what one service process tells support.

Every service answers it (``assemble`` registers it next to the plugin control commands)
with one JSON document: who it is, its effective config with secrets redacted, its newest
log lines, versions, plugin states and timings, its data exchange links, a stack dump of
every thread and a metrics snapshot. Logic gathers the answers and
:mod:`peek_platform.diagnostics.bundle` writes them into one zip (docs/admin/diagnostics.rst).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_platform.diagnostics.redaction import ConfigRedactor
from peek_platform.diagnostics.stacks import threadStacks
from peek_platform.diagnostics.versions import versionsDocument
from peek_platform.log_files import readLogTail
from peek_platform.plugin.state import PluginStatus
from vortex.VortexFactory import NoVortexException, VortexFactory

if TYPE_CHECKING:
    # Types only: peek_platform.process imports this module to register the command.
    from peek_platform.process.commands import ServiceCommands
    from peek_platform.process.context import ServiceContext, ServiceExtension

logger = logging.getLogger(__name__)

#: The service command name every service answers.
DIAGNOSTICS_COMMAND = "diagnostics.collect"
#: The metrics feature's command whose ``text`` is the snapshot, when a service has it.
METRICS_COMMAND = "metrics.text"
#: What the metrics entry says on a service without metrics.
NO_METRICS = "metrics are not available on this service"
#: At most this many of the newest log lines, from at most this many bytes of the file's end.
LOG_LINES = 1000
LOG_BYTES = 512 * 1024
#: Links listed at most (logic may hold many browser links).
MAX_LINKS = 1000
#: Characters of metrics text kept at most.
MAX_METRICS_CHARS = 1024 * 1024


class DiagnosticsCollector:
    """Answers ``diagnostics.collect`` for the service of ``ctx``.

    ``vortexFactory`` gives the process's VortexFactory for its links (None, or raising
    ``NoVortexException``, before the vortex is up).
    """

    def __init__(
        self, ctx: ServiceContext, vortexFactory: Callable[[], VortexFactory | None]
    ) -> None:
        self._ctx = ctx
        self._vortexFactory = vortexFactory

    def register(self, commands: ServiceCommands) -> Callable[[], None]:
        """Answer ``diagnostics.collect`` from ``commands``; returns the remover."""
        return commands.add(DIAGNOSTICS_COMMAND, self.collect)

    def collect(self, args: dict[str, Any]) -> Deferred[dict[str, Any]]:
        """The service's diagnostics document (``args`` are ignored); secrets redacted."""
        ctx = self._ctx
        redactor = ConfigRedactor()
        config = redactor.redact(ctx.config.asDict())
        factory = self._factory()
        logPath = ctx.home / ctx.spec.logFileName
        statuses = ctx.loader.statuses() if ctx.loader is not None else []
        document: dict[str, Any] = {
            "service": {
                "serviceKey": ctx.spec.key,
                "vortexName": ctx.spec.vortexName,
                "vortexUuid": factory.vortexUuid if factory is not None else None,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "home": str(ctx.home),
                "configPath": str(ctx.config.path),
                "collectedAt": time.time(),
            },
            "config": config,
            "log": {
                "path": str(logPath),
                "lines": redactor.scrubLines(readLogTail(logPath, LOG_LINES, LOG_BYTES)),
            },
            "versions": versionsDocument(statuses),
            "plugins": [_statusDocument(status, redactor) for status in statuses],
            "links": self._links(factory),
            "threads": redactor.scrub(threadStacks()),
        }

        def withMetrics(text: str) -> dict[str, Any]:
            return {**document, "metrics": redactor.scrub(text)}

        return self._metrics().addCallback(withMetrics)

    def _factory(self) -> VortexFactory | None:
        try:
            return self._vortexFactory()
        except NoVortexException:
            return None

    @staticmethod
    def _links(factory: VortexFactory | None) -> list[dict[str, Any]]:
        if factory is None:
            return []
        return [
            {
                "name": info.name,
                "uuid": info.uuid,
                "isDevice": info.isDevice,
                "peerAddress": info.peerAddress,
                "since": info.since.isoformat(),
            }
            for info in factory.remoteVortexes()[:MAX_LINKS]
        ]

    def _metrics(self) -> Deferred[str]:
        """The metrics feature's text snapshot, or why there is none."""
        commands = self._ctx.commands
        if METRICS_COMMAND not in commands.names():
            return defer.succeed(NO_METRICS)

        def text(result: dict[str, Any]) -> str:
            return str(result.get("text", ""))[:MAX_METRICS_CHARS]

        def failed(failure: Failure) -> str:
            logger.warning("diagnostics: the metrics snapshot failed: %s", failure.value)
            return f"the metrics snapshot failed: {failure.getErrorMessage()}"

        return commands.run(METRICS_COMMAND, {}).addCallbacks(text, failed)


def _statusDocument(status: PluginStatus, redactor: ConfigRedactor) -> dict[str, Any]:
    """A plugin's status as JSON: its state by name, reason, traceback (scrubbed) and
    timings."""
    document = dataclasses.asdict(status)
    document["state"] = status.state.value
    for name in ("reason", "traceback"):
        if isinstance(document[name], str):
            document[name] = redactor.scrub(document[name])
    return document


def vortexFactoryOf(extensions: Sequence[ServiceExtension]) -> Callable[[], VortexFactory | None]:
    """A function giving the VortexFactory of the service's data exchange extension (None
    when the service has none, or before it starts)."""
    # Imported here: the vortex extensions import peek_platform.process, which imports this.
    from peek_platform.vortex.extension import (
        DataExchangeClientExtension,
        DataExchangeServerExtension,
    )

    kinds = (DataExchangeServerExtension, DataExchangeClientExtension)
    found = next((e for e in extensions if isinstance(e, kinds)), None)

    def factory() -> VortexFactory | None:
        return found.factory if found is not None else None

    return factory


def registerDiagnostics(
    ctx: ServiceContext, extensions: Sequence[ServiceExtension]
) -> Callable[[], None]:
    """Add ``diagnostics.collect`` to ``ctx.commands``, its links from ``extensions``'
    data exchange; returns the remover."""
    return DiagnosticsCollector(ctx, vortexFactoryOf(extensions)).register(ctx.commands)
