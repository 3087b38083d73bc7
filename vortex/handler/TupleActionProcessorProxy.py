"""TupleActionProcessorProxy: forwards device actions to logic and relays the single response.

Message shapes: ``docs/vortex/messaging.rst`` (section Tuple actions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_BAD_REQUEST,
    ERROR_NOT_CONNECTED,
    PendingRequests,
    errorResultForFailure,
    ignoreClosedLink,
    isUpstreamLink,
    isValidId,
    makeErrorMsg,
    rerouteMsg,
    resolveFactory,
)
from vortex.handler.TupleActionProcessor import ACTION_KEY_PREFIX, RESPONSE_KEY_PREFIX
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.VortexFactory import (
    NoVortexException,
    RemoteVortexInfo,
    VortexFactory,
    prioritySender,
)

#: Longer than the processor's own 30 s, so logic's timeout error normally arrives first.
DEFAULT_PROXY_TIMEOUT_SECONDS = 35.0


class TupleActionProcessorProxy:
    """Runs on field/office: devices push actions here; each is forwarded to proxyToVortexName
    with the identity of the device's link attached (``vortex.RequestIdentity``).

    Every device push gets exactly one response: the upstream response, or an error when
    upstream is not connected, drops the link, or does not answer within timeoutSeconds.
    """

    def __init__(
        self,
        tupleActionProcessorName: str,
        proxyToVortexName: str,
        additionalFilt: dict | None = None,
        timeoutSeconds: float = DEFAULT_PROXY_TIMEOUT_SECONDS,
        vortexFactory: VortexFactory | None = None,
        clock: IReactorTime | None = None,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self._factory = factory
        self.tupleActionProcessorName = tupleActionProcessorName
        self.proxyToVortexName = proxyToVortexName
        self._timeoutSeconds = timeoutSeconds
        self._where = f"tuple action proxy {tupleActionProcessorName!r} (to {proxyToVortexName!r})"
        self._responseKey = RESPONSE_KEY_PREFIX + tupleActionProcessorName
        self._pending = PendingRequests(
            clock if clock is not None else factory.reactor, self._where
        )
        filt = dict(additionalFilt or {})
        self._pushEndpoint = PayloadEndpoint(
            {**filt, "key": ACTION_KEY_PREFIX + tupleActionProcessorName},
            self._onPush,
            payloadIO=factory.payloadIO,
        )
        self._responseEndpoint = PayloadEndpoint(
            {**filt, "key": self._responseKey},
            self._onResponse,
            acceptOnlyFromVortex=proxyToVortexName,
            payloadIO=factory.payloadIO,
        )
        self._removeOffline = factory.addOfflineListener(self._onOffline)

    def outstandingCount(self) -> int:
        """How many forwarded actions await logic's response (for status pages and tests)."""
        return len(self._pending)

    def shutdown(self) -> None:
        """Stop proxying; outstanding actions are answered with a not-connected error."""
        self._pushEndpoint.shutdown()
        self._responseEndpoint.shutdown()
        self._removeOffline()
        self._pending.failAll(lambda: NoVortexException(f"{self._where} shut down"))

    def _onPush(
        self,
        envelope: PayloadEnvelope,
        *,
        sendResponse: Callable[[bytes], defer.Deferred],
        **_: Any,
    ) -> None:
        sendResponse = prioritySender(sendResponse)  # never behind a bulk transfer
        deviceFilt = envelope.filt
        responseFilt = dict(deviceFilt)
        responseFilt["key"] = self._responseKey

        def respondError(code: str, errorType: str, message: str) -> None:
            sendResponse(makeErrorMsg(responseFilt, code, errorType, message)).addErrback(
                ignoreClosedLink
            )

        if not isValidId(deviceFilt.get("msgId")):
            respondError(ERROR_BAD_REQUEST, "ValueError", f"{self._where}: missing msgId")
            return
        upstream = self.proxyToVortexName
        if not self._factory.isVortexNameConnected(upstream):
            respondError(
                ERROR_NOT_CONNECTED,
                "NoVortexException",
                f"{self._where}: {upstream!r} is not connected",
            )
            return

        def relay(upEnvelope: PayloadEnvelope) -> None:
            sendResponse(rerouteMsg(upEnvelope, responseFilt)).addErrback(ignoreClosedLink)

        def failed(failure: Failure) -> None:
            if failure.check(NoVortexException):
                respondError(ERROR_NOT_CONNECTED, "NoVortexException", str(failure.value))
                return
            error = errorResultForFailure(failure)
            respondError(error["error"], error["type"], error["message"])

        upId = self._pending.newId()
        upFilt = dict(deviceFilt)
        upFilt["msgId"] = upId
        self._pending.add(upId, self._timeoutSeconds).addCallbacks(relay, failed)
        self._factory.sendVortexMsg(
            rerouteMsg(envelope, upFilt, envelope.identity), destVortexName=upstream, priority=True
        ).addErrback(lambda f: self._pending.fail(upId, f))

    def _onResponse(self, envelope: PayloadEnvelope, **_: Any) -> None:
        self._pending.resolve(envelope.filt.get("msgId"), envelope)

    def _onOffline(self, info: RemoteVortexInfo, reason: str) -> None:
        name = self.proxyToVortexName
        if isUpstreamLink(info, name) and not self._factory.isVortexNameConnected(name):
            self._pending.failAll(
                lambda: NoVortexException(f"{self._where}: link to {name!r} lost ({reason})")
            )
