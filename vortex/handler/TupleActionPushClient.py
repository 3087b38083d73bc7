"""TupleActionPushClient: push tuple actions from Python (agents, scripts, tests) like a browser.

Message shapes: ``docs/vortex/messaging.rst`` (section Tuple actions).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_RETRY_LATER,
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
from vortex.transport import Backoff
from vortex.TupleAction import TupleActionABC
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

#: Longer than the proxy's 35 s, so the nearest hop's error normally arrives first.
DEFAULT_PUSH_TIMEOUT_SECONDS = 40.0
#: Delays before pushing again an action answered ``retry-later``: from 0.25 s doubling to
#: 2 s, with full jitter (the browser's offline queue uses the same).
DEFAULT_RETRY_INITIAL_SECONDS = 0.25
DEFAULT_RETRY_CAP_SECONDS = 2.0


class TupleActionPushClient:
    """Pushes actions to the processor (or proxy) ``actionProcessorName`` on destVortexName.

    An action answered ``retry-later`` (logic could not reach its database; see
    ``vortex.handler.TransientFailure``) is pushed again, the same action with the same
    uuid, after a backoff delay from ``retryInitialSeconds`` doubling to
    ``retryCapSeconds`` (full jitter), until another answer arrives.
    """

    def __init__(
        self,
        destVortexName: str,
        actionProcessorName: str,
        additionalFilt: dict | None = None,
        timeoutSeconds: float = DEFAULT_PUSH_TIMEOUT_SECONDS,
        vortexFactory: VortexFactory | None = None,
        retryInitialSeconds: float = DEFAULT_RETRY_INITIAL_SECONDS,
        retryCapSeconds: float = DEFAULT_RETRY_CAP_SECONDS,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self._factory = factory
        self.destVortexName = destVortexName
        self._timeoutSeconds = timeoutSeconds
        self._retryDelays = (retryInitialSeconds, retryCapSeconds)
        Backoff(initial=retryInitialSeconds, cap=retryCapSeconds)  # refuses a bad policy now
        #: By the outcome of a push: its retry waiting for its delay.
        self._waitingRetries: dict[defer.Deferred, IDelayedCall] = {}
        self._isShutDown = False
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

        A ``retry-later`` answer is not final: the action is pushed again after a backoff
        delay until it gets another answer. Cancelling the Deferred stops the retries.
        Errors: NoVortexException (not connected, or the link dropped), TupleActionError
        (answered with an error object), VortexTimeoutError (no answer in time).
        """
        if not isinstance(tupleAction, TupleActionABC):
            return defer.fail(
                TypeError(f"{self._where}: pushAction needs a TupleActionABC, got {tupleAction!r}")
            )
        initial, cap = self._retryDelays
        backoff = Backoff(initial=initial, cap=cap)
        outcome: defer.Deferred = defer.Deferred(lambda _: self._cancelRetry(outcome))

        def answered(result: Any) -> None:
            if outcome.called:  # cancelled meanwhile
                return
            if (
                isinstance(result, Failure)
                and result.check(TupleActionError)
                and result.value.code == ERROR_RETRY_LATER
                and not self._isShutDown
            ):
                delay = backoff.nextDelay()
                self._waitingRetries[outcome] = self._factory.reactor.callLater(delay, again)
                return
            if isinstance(result, Failure):
                outcome.errback(result)
            else:
                outcome.callback(result)

        def again() -> None:
            del self._waitingRetries[outcome]
            self._pushOnce(tupleAction).addBoth(answered)

        self._pushOnce(tupleAction).addBoth(answered)
        return outcome

    def _pushOnce(self, tupleAction: TupleActionABC) -> defer.Deferred:
        """Push the action once; a Deferred of this push's answer."""
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
        self._factory.sendVortexMsg(
            msg, destVortexName=self.destVortexName, priority=True
        ).addErrback(lambda f: self._pending.fail(msgId, f))
        return d

    def _cancelRetry(self, outcome: defer.Deferred) -> None:
        """The caller cancelled ``outcome``: its waiting retry, if any, does not happen."""
        call = self._waitingRetries.pop(outcome, None)
        if call is not None:
            call.cancel()

    def shutdown(self) -> None:
        """Stop listening for responses; outstanding pushes fail, waiting retries too."""
        self._isShutDown = True
        self._endpoint.shutdown()
        self._removeOffline()
        self._pending.failAll(lambda: NoVortexException(f"{self._where}: client shut down"))
        waiting, self._waitingRetries = self._waitingRetries, {}
        for outcome, call in waiting.items():
            call.cancel()
            outcome.errback(NoVortexException(f"{self._where}: client shut down"))

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
