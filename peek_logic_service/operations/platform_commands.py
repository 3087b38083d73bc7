"""Run one service command on logic and on every linked service, and answer ``peek``.

``peek plugin enable``, ``peek diagnostics`` and the admin pages all come through
:meth:`PlatformCommands.run`: the command runs on logic itself through its own table and
on each linked service through the data exchange (docs/dev/operations.rst). Each service's
answer is reported separately, so one service refusing or not answering never hides what
the others did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_logic_service.status.view import PlatformStatusView
from peek_platform.process.commands import ServiceCommandError, ServiceCommands
from peek_platform.services import LOGIC, SERVICES_BY_KEY
from peek_platform.vortex.service_commands import (
    PLATFORM_COMMAND_FILT,
    PLATFORM_COMMAND_REPLY_FILT,
    ServiceCommandClient,
    singleDocument,
)
from peek_platform.vortex.tuples import ServiceStatusTuple
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.VortexFactory import DEVICE_PREFIX, VortexFactory

logger = logging.getLogger(__name__)

#: Seconds a service gets to answer when the request names no timeout.
DEFAULT_TIMEOUT_SECONDS = 60.0


class PlatformCommands:
    """Runs a service command on the services logic knows, one answer per service."""

    def __init__(
        self,
        commands: ServiceCommands,
        client: ServiceCommandClient,
        view: PlatformStatusView,
        logicUuid: Callable[[], str],
    ) -> None:
        self._commands = commands
        self._client = client
        self._view = view
        self._logicUuid = logicUuid

    def run(
        self,
        command: str,
        args: dict[str, Any],
        *,
        serviceKey: str | None = None,
        vortexUuid: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> Deferred[list[dict[str, Any]]]:
        """Run ``command`` on every linked service, logic first; only on ``serviceKey``'s
        kind, or only on the one service process linked as ``vortexUuid``, when given. A
        Deferred of one answer document per service, never an errback."""
        if serviceKey is not None and serviceKey not in SERVICES_BY_KEY:
            valid = ", ".join(SERVICES_BY_KEY)
            return defer.fail(
                ServiceCommandError(f"unknown service {serviceKey!r}; use one of {valid}")
            )
        logicUuid = self._logicUuid()

        def chosen(key: str, uuid: str) -> bool:
            return serviceKey in (None, key) and vortexUuid in (None, uuid)

        calls: list[Deferred[dict[str, Any]]] = []
        if chosen(LOGIC.key, logicUuid):
            local = self._view.service(logicUuid)
            calls.append(self._answer(local, self._commands.run(command, args)))
        for target in self._view.snapshot().services:
            if target.connected and target.serviceKey != LOGIC.key:
                if chosen(target.serviceKey, target.vortexUuid):
                    d = self._client.call(target.vortexUuid, command, args, timeout=timeout)
                    calls.append(self._answer(target, d))
        return defer.gatherResults(calls)

    def _answer(
        self, target: ServiceStatusTuple | None, d: Deferred[dict[str, Any]]
    ) -> Deferred[dict[str, Any]]:
        """``d``'s outcome as an answer document naming the service it came from."""
        where: dict[str, Any] = {"service": LOGIC.key}
        if target is not None:
            where = {
                "service": target.serviceKey,
                "host": target.host,
                "pid": target.pid,
                "vortexUuid": target.vortexUuid,
            }

        def succeeded(result: dict[str, Any]) -> dict[str, Any]:
            return {**where, "ok": True, "result": result}

        def failed(failure: Failure) -> dict[str, Any]:
            if not failure.check(ServiceCommandError):
                logger.error("service command failed on %s\n%s", where, failure.getTraceback())
            return {**where, "ok": False, "error": failure.getErrorMessage()}

        return d.addCallbacks(succeeded, failed)


class PlatformCommandEndpoint:
    """Answers ``peek``'s requests on logic's data exchange (any service link, no device)."""

    def __init__(self, commands: PlatformCommands, factory: VortexFactory) -> None:
        self._commands = commands
        self._factory = factory
        self._endpoint: PayloadEndpoint | None = None

    def start(self) -> None:
        """Accept requests."""
        self._endpoint = PayloadEndpoint(
            PLATFORM_COMMAND_FILT, self._onRequest, payloadIO=self._factory.payloadIO
        )

    def stop(self) -> None:
        """Stop accepting requests."""
        if self._endpoint is not None:
            self._endpoint.shutdown()
            self._endpoint = None

    def _onRequest(
        self,
        envelope: PayloadEnvelope,
        vortexName: str,
        sendResponse: Callable[[bytes], Deferred[Any]],
        **kwargs: Any,
    ) -> Deferred[Any] | None:
        if vortexName.startswith(DEVICE_PREFIX):
            logger.error("Refused a platform command from device link %s", vortexName)
            return None
        try:
            request = parseRequest(envelope)
        except ServiceCommandError as e:
            return sendResponse(_reply({"error": str(e)}))
        logger.info(
            "%s asked for %s on %s", vortexName, request["command"], request["service"] or "all"
        )
        d = self._commands.run(
            request["command"],
            request["args"],
            serviceKey=request["service"],
            timeout=request["timeout"],
        )
        requestId = request["requestId"]

        def reply(answers: list[dict[str, Any]]) -> None:
            sendResponse(_reply({"requestId": requestId, "answers": answers}))

        def replyError(failure: Failure) -> None:
            sendResponse(_reply({"requestId": requestId, "error": failure.getErrorMessage()}))

        return d.addCallbacks(reply, replyError)


def parseRequest(envelope: PayloadEnvelope) -> dict[str, Any]:
    """A request's fields checked: requestId, command, args, service, timeout."""
    document = singleDocument(envelope)
    command, args, service = (
        document.get("command"),
        document.get("args", {}),
        document.get("service"),
    )
    timeout = document.get("timeout", DEFAULT_TIMEOUT_SECONDS)
    if not isinstance(command, str) or not isinstance(args, dict):
        raise ServiceCommandError("a platform command needs a string 'command' and object 'args'")
    if service is not None and not isinstance(service, str):
        raise ServiceCommandError("'service' must be a service key or null")
    if not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
        raise ServiceCommandError("'timeout' must be a number of seconds in (0, 3600]")
    return {
        "requestId": str(document.get("requestId", "")),
        "command": command,
        "args": args,
        "service": service,
        "timeout": float(timeout),
    }


def _reply(document: dict[str, Any]) -> bytes:
    return Payload(filt=dict(PLATFORM_COMMAND_REPLY_FILT), tuples=[document]).toVortexMsg()
