"""Service commands over the data exchange: logic asks one linked service, it answers.

Logic runs a command on a linked service through :class:`ServiceCommandClient`, which
addresses the service's link by uuid (two field services share one vortex name); the
service's :class:`ServiceCommandServer` runs it from its ``ctx.commands`` table
(:mod:`peek_platform.process.commands`) and replies to logic only (docs/dev/operations.rst).
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from peek_platform.process.commands import ServiceCommandError, ServiceCommands
from peek_plugin_base.PeekVortexUtil import peekLogicName
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.SerialiseUtil import VortexDecodeError
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)

#: Filt of a command from logic to a service.
SERVICE_COMMAND_FILT = {"key": "peek_platform.serviceCommand"}
#: Filt of a service's answer to logic.
SERVICE_COMMAND_REPLY_FILT = {"key": "peek_platform.serviceCommandReply"}
#: Filt of a ``peek`` command's request to logic, to run a command across the platform.
PLATFORM_COMMAND_FILT = {"key": "peek_platform.platformCommand"}
#: Filt of logic's answer to it: one answer document per service.
PLATFORM_COMMAND_REPLY_FILT = {"key": "peek_platform.platformCommandReply"}


@dataclass(frozen=True)
class CommandRequest:
    """One command as sent over the vortex: which, with what, and the id its answer carries."""

    requestId: str
    command: str
    args: dict[str, Any]

    def toDocument(self) -> dict[str, Any]:
        """The request as the JSON document the vortex carries."""
        return {"requestId": self.requestId, "command": self.command, "args": self.args}

    @classmethod
    def fromEnvelope(cls, envelope: PayloadEnvelope) -> CommandRequest:
        """Decode a request; ``ServiceCommandError`` names what is malformed."""
        document = singleDocument(envelope)
        requestId, command, args = (document.get(k) for k in ("requestId", "command", "args"))
        if not isinstance(requestId, str) or not isinstance(command, str):
            raise ServiceCommandError("a command needs string 'requestId' and 'command'")
        if not isinstance(args, dict):
            raise ServiceCommandError(f"command {command!r}: 'args' must be an object")
        return cls(requestId, command, args)


def answerDocument(requestId: str, outcome: dict[str, Any] | Failure) -> dict[str, Any]:
    """The answer to ``requestId``: ``ok`` and ``result``, or ``ok`` false and ``error``."""
    if not isinstance(outcome, Failure):
        return {"requestId": requestId, "ok": True, "result": outcome}
    if outcome.check(ServiceCommandError):
        return {"requestId": requestId, "ok": False, "error": outcome.getErrorMessage()}
    logger.error("service command %s failed\n%s", requestId, outcome.getTraceback())
    error = f"internal error: {outcome.type.__name__}: {outcome.getErrorMessage()} (see the log)"
    return {"requestId": requestId, "ok": False, "error": error}


class ServiceCommandServer:
    """A service's end: runs the commands logic sends and replies to logic's link."""

    def __init__(self, factory: VortexFactory, commands: ServiceCommands) -> None:
        self._factory = factory
        self._commands = commands
        self._endpoint: PayloadEndpoint | None = None

    def start(self) -> None:
        """Accept commands from logic's link."""
        self._endpoint = PayloadEndpoint(
            SERVICE_COMMAND_FILT,
            self._onCommand,
            acceptOnlyFromVortex=peekLogicName,
            payloadIO=self._factory.payloadIO,
        )

    def stop(self) -> None:
        """Stop accepting commands."""
        if self._endpoint is not None:
            self._endpoint.shutdown()
            self._endpoint = None

    def _onCommand(self, envelope: PayloadEnvelope, vortexUuid: str, **kwargs: Any) -> None:
        try:
            request = CommandRequest.fromEnvelope(envelope)
        except ServiceCommandError as e:
            logger.error("Refused a service command from logic: %s", e)
            return
        d = self._commands.run(request.command, request.args)
        d.addBoth(
            lambda outcome: self._reply(vortexUuid, answerDocument(request.requestId, outcome))
        )

    def _reply(self, vortexUuid: str, answer: dict[str, Any]) -> None:
        msg = Payload(filt=dict(SERVICE_COMMAND_REPLY_FILT), tuples=[answer]).toVortexMsg()
        try:
            self._factory.sendVortexMsgNow(msg, destVortexUuid=vortexUuid)
        except NoVortexException as e:
            logger.warning("could not answer service command %s: %s", answer["requestId"], e)


class ServiceCommandClient:
    """Logic's end: sends a command to one linked service and waits for its answer."""

    def __init__(self, factory: VortexFactory, clock: IReactorTime) -> None:
        self._factory = factory
        self._clock = clock
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:8]
        #: requestId -> (service link uuid, the caller's Deferred, its timeout call).
        self._pending: dict[str, tuple[str, Deferred[dict[str, Any]], IDelayedCall]] = {}
        self._endpoint: PayloadEndpoint | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Receive answers; fail the calls of a link that drops."""
        self._endpoint = PayloadEndpoint(
            SERVICE_COMMAND_REPLY_FILT, self._onAnswer, payloadIO=self._factory.payloadIO
        )
        self._unsubscribe = self._factory.addOfflineListener(self._linkDown)

    def stop(self) -> None:
        """Stop receiving answers and fail every call still waiting."""
        if self._endpoint is not None:
            self._endpoint.shutdown()
            self._endpoint = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for requestId in list(self._pending):
            self._settle(requestId, ServiceCommandError("logic is stopping"))

    def call(
        self, vortexUuid: str, command: str, args: dict[str, Any], *, timeout: float
    ) -> Deferred[dict[str, Any]]:
        """Run ``command`` on the service linked as ``vortexUuid``; a Deferred of its result.

        Fails with ``ServiceCommandError`` when the service refuses, is not linked, its
        link drops, or no answer comes within ``timeout`` seconds.
        """
        request = CommandRequest(f"{self._prefix}-{next(self._ids)}", command, args)
        msg = Payload(filt=dict(SERVICE_COMMAND_FILT), tuples=[request.toDocument()]).toVortexMsg()
        try:
            self._factory.sendVortexMsgNow(msg, destVortexUuid=vortexUuid)
        except NoVortexException as e:
            return defer.fail(ServiceCommandError(f"the service is not linked: {e}"))
        answer: Deferred[dict[str, Any]] = Deferred()
        timer = self._clock.callLater(
            timeout,
            self._settle,
            request.requestId,
            ServiceCommandError(f"no answer to {command!r} within {timeout:g} s"),
        )
        self._pending[request.requestId] = (vortexUuid, answer, timer)
        return answer

    def _settle(self, requestId: str, outcome: dict[str, Any] | Exception) -> None:
        entry = self._pending.pop(requestId, None)
        if entry is None:
            return
        _, answer, timer = entry
        if timer.active():
            timer.cancel()
        if isinstance(outcome, Exception):
            answer.errback(Failure(outcome))
        else:
            answer.callback(outcome)

    def _onAnswer(self, envelope: PayloadEnvelope, vortexUuid: str, **kwargs: Any) -> None:
        try:
            document = singleDocument(envelope)
        except ServiceCommandError as e:
            logger.error("Ignored a malformed service command answer from %s: %s", vortexUuid, e)
            return
        requestId = str(document.get("requestId"))
        entry = self._pending.get(requestId)
        if entry is None or entry[0] != vortexUuid:
            return  # late (timed out) or not from the link the command went to
        if document.get("ok") is True and isinstance(document.get("result"), dict):
            self._settle(requestId, document["result"])
        else:
            self._settle(requestId, ServiceCommandError(str(document.get("error"))))

    def _linkDown(self, info: RemoteVortexInfo, reason: str) -> None:
        for requestId, (linkUuid, _, _) in list(self._pending.items()):
            if linkUuid == info.uuid:
                self._settle(requestId, ServiceCommandError(f"the link dropped: {reason}"))


def singleDocument(envelope: PayloadEnvelope) -> dict[str, Any]:
    """The one JSON object a command or answer payload carries."""
    try:
        tuples = envelope.decodePayload().tuples
    except VortexDecodeError as e:
        raise ServiceCommandError(f"undecodable payload: {e}") from e
    if len(tuples) != 1 or not isinstance(tuples[0], dict):
        raise ServiceCommandError("expected one JSON object")
    return tuples[0]
