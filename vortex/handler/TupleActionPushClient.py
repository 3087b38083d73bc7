"""TupleActionPushClient: push tuple actions from Python (agents, scripts, tests) like a browser.

Message shapes: ``docs/vortex/messaging.rst`` (section Tuple actions).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from vortex.handler.MessageUtil import (
    PendingRequests,
    TupleActionError,
    canReach,
    decodeTuples,
    errorFromResult,
    isErrorResult,
    isUpstreamLink,
    makeMsg,
    resolveFactory,
)
from vortex.handler.TupleActionProcessor import ACTION_KEY_PREFIX, RESPONSE_KEY_PREFIX
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError
from vortex.TupleAction import TupleActionABC
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

#: Longer than the proxy's 35 s, so the nearest hop's error normally arrives first.
DEFAULT_PUSH_TIMEOUT_SECONDS = 40.0


class TupleActionPushClient:
    """Pushes actions to the processor (or proxy) ``actionProcessorName`` on destVortexName."""

    def __init__(
        self,
        destVortexName: str,
        actionProcessorName: str,
        additionalFilt: dict | None = None,
        timeoutSeconds: float = DEFAULT_PUSH_TIMEOUT_SECONDS,
        vortexFactory: VortexFactory | None = None,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self._factory = factory
        self.destVortexName = destVortexName
        self._timeoutSeconds = timeoutSeconds
        self._where = f"tuple action processor {actionProcessorName!r} on {destVortexName!r}"
        filt = dict(additionalFilt or {})
        self._pushFilt = {**filt, "key": ACTION_KEY_PREFIX + actionProcessorName}
        self._pending = PendingRequests(factory.reactor, self._where)
        self._endpoint = PayloadEndpoint(
            {**filt, "key": RESPONSE_KEY_PREFIX + actionProcessorName},
            self._onResponse,
            acceptOnlyFromVortex=destVortexName,
            payloadIO=factory.payloadIO,
        )
        self._removeOffline = factory.addOfflineListener(self._onOffline)

    def pushAction(self, tupleAction: TupleActionABC) -> defer.Deferred:
        """Push one action; a Deferred of the response tuples, or failing with the error.

        Errors: NoVortexException (not connected, or the link dropped), TupleActionError
        (answered with an error object), VortexTimeoutError (no answer in time).
        """
        if not isinstance(tupleAction, TupleActionABC):
            return defer.fail(
                TypeError(f"{self._where}: pushAction needs a TupleActionABC, got {tupleAction!r}")
            )
        if not canReach(self._factory, self.destVortexName):
            return defer.fail(
                NoVortexException(f"{self._where}: {self.destVortexName!r} is not connected")
            )
        msgId = self._pending.newId()
        filt = dict(self._pushFilt)
        filt["msgId"] = msgId
        try:
            msg = makeMsg(filt, [tupleAction])
        except VortexEncodeError as e:
            return defer.fail(e)
        d = self._pending.add(msgId, self._timeoutSeconds)
        self._factory.sendVortexMsg(msg, destVortexName=self.destVortexName).addErrback(
            lambda f: self._pending.fail(msgId, f)
        )
        return d

    def shutdown(self) -> None:
        """Stop listening for responses; outstanding pushes fail."""
        self._endpoint.shutdown()
        self._removeOffline()
        self._pending.failAll(lambda: NoVortexException(f"{self._where}: client shut down"))

    def _onResponse(self, envelope: PayloadEnvelope, **_: Any) -> None:
        msgId = envelope.filt.get("msgId")
        if msgId not in self._pending:
            return
        if isErrorResult(envelope.result):
            self._pending.fail(
                msgId, errorFromResult(TupleActionError, envelope.result, self._where)
            )
            return
        try:
            tuples = decodeTuples(envelope)
        except VortexDecodeError as e:
            self._pending.fail(msgId, e)
            return
        self._pending.resolve(msgId, tuples)

    def _onOffline(self, info: RemoteVortexInfo, reason: str) -> None:
        name = self.destVortexName
        if isUpstreamLink(info, name) and not self._factory.isVortexNameConnected(name):
            self._pending.failAll(
                lambda: NoVortexException(f"{self._where}: link to {name!r} lost ({reason})")
            )
