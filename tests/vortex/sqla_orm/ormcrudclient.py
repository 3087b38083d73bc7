"""A test client speaking the ORM CRUD messages of docs/vortex/messaging.rst, as a TupleLoader."""

from __future__ import annotations

import itertools
from typing import Any

from twisted.internet import defer

from vortex.handler.MessageUtil import decodeTuples, isErrorResult, makeMsg
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import currentIdentity
from vortex.VortexFactory import VortexFactory

#: The handler filt of the tests: the manual's admin key plus the plugin's filt.
CRUD_FILT = {"key": "admin.Edit.StringIntTuple", "plugin": "peek_plugin_tutorial"}


class CrudResponse:
    """One response: its header filt, error object (or None) and decoded tuples."""

    def __init__(self, envelope: PayloadEnvelope) -> None:
        self.filt = envelope.filt
        self.error = envelope.result if isErrorResult(envelope.result) else None
        self.tuples = [] if self.error is not None else decodeTuples(envelope)


class CrudClient:
    """Sends retrieve/save/delete requests to destVortexName and collects the responses."""

    def __init__(self, factory: VortexFactory, destVortexName: str, filt: dict) -> None:
        self._factory = factory
        self._dest = destVortexName
        self._filt = filt
        self._ids = itertools.count(1)
        self._pending: dict[str, defer.Deferred] = {}
        #: Every response received, in arrival order.
        self.received: list[CrudResponse] = []
        self._endpoint = PayloadEndpoint(
            {**filt, "op": "response"}, self._onResponse, payloadIO=factory.payloadIO
        )

    def send(self, filt: dict, tuples: list | None = None) -> None:
        """Send one raw request message with exactly this filt (for the current identity,
        as a proxy forwarding a device's request would)."""
        self._factory.sendVortexMsg(
            makeMsg(filt, tuples or [], currentIdentity()), destVortexName=self._dest
        )

    def call(self, op: str, tuples: list | None = None, **extraFilt: Any) -> CrudResponse:
        """Send op with a fresh msgId and return its response (spinning the reactor)."""
        from linkedvortexes import settle  # loaded by this directory's conftest

        msgId = f"crud-{next(self._ids)}"
        d = self._pending[msgId] = defer.Deferred()
        self.send({**self._filt, **extraFilt, "op": op, "msgId": msgId}, tuples)
        return settle(d)

    def responsesFor(self, msgId: str) -> list[CrudResponse]:
        """Every response received for msgId."""
        return [r for r in self.received if r.filt.get("msgId") == msgId]

    def shutdown(self) -> None:
        """Stop listening for responses."""
        self._endpoint.shutdown()

    def _onResponse(self, envelope: PayloadEnvelope, **_: Any) -> None:
        response = CrudResponse(envelope)
        self.received.append(response)
        d = self._pending.pop(envelope.filt.get("msgId"), None)
        if d is not None:
            d.callback(response)
