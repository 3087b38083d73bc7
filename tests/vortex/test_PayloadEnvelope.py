"""PayloadEnvelope: routing without decoding, and the Deferred variants."""

from datetime import UTC, datetime

import orjson
import pytest
from twisted.trial.unittest import SynchronousTestCase

from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.serialise.deferred import INLINE_MAX_TUPLES
from vortex.SerialiseUtil import VortexDecodeError
from vortex.Tuple import Tuple, TupleField, addTupleType

WHEN = datetime(2024, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
_sync = SynchronousTestCase()


@addTupleType
class EnvelopeItem(Tuple):
    __tupleType__ = "tests.vortex.EnvelopeItem"
    n = TupleField()


def test_proxy_reroutes_without_touching_the_body():
    """A proxy can read and rewrite the header and forward the body bytes unchanged."""
    body = orjson.dumps(
        {"v": 1, "filt": {}, "tuples": [{"~t": "only.known.downstream", "x": 1}], "result": None}
    )
    incoming = PayloadEnvelope({"key": "obs"}, encodedPayload=body, date=WHEN).toVortexMsg()

    envelope = PayloadEnvelope.fromVortexMsg(incoming)
    envelope.filt["proxied"] = True
    envelope.destVortexName = "peek-field-app"
    outgoing = envelope.toVortexMsg()

    assert outgoing.endswith(b"\n" + body)
    forwarded = PayloadEnvelope.fromVortexMsg(outgoing)
    assert (forwarded.filt, forwarded.destVortexName) == (
        {"key": "obs", "proxied": True},
        "peek-field-app",
    )
    with pytest.raises(VortexDecodeError, match=r"only\.known\.downstream"):
        forwarded.decodePayload()


def test_envelope_header_fields_roundtrip():
    """filt, destVortexName, destVortexUuid, result and date survive toVortexMsg/fromVortexMsg."""
    sent = Payload({"key": "k"}, [EnvelopeItem(n=1)], result="done", date=WHEN)
    got = PayloadEnvelope.fromVortexMsg(sent.makePayloadEnvelope("dest", "uuid-1").toVortexMsg())
    assert (got.filt, got.destVortexName, got.destVortexUuid, got.result, got.date) == (
        {"key": "k"},
        "dest",
        "uuid-1",
        "done",
        WHEN,
    )
    assert got.decodePayload().tuples == [EnvelopeItem(n=1)]


def test_envelope_without_body_is_one_header_line():
    """An envelope with no payload is a single JSON line and decodes to a tuple-less payload."""
    message = PayloadEnvelope({"key": "ping"}, result=3, date=WHEN).toVortexMsg()
    assert b"\n" not in message
    payload = PayloadEnvelope.fromVortexMsg(message).decodePayload()
    assert (payload.filt, payload.tuples, payload.result) == ({"key": "ping"}, [], 3)


def test_instance_style_calls_from_vortexpy_code_still_work():
    """PayloadEnvelope().fromVortexMsg(b) and Payload().fromEncodedPayload(b) return new objects."""
    payload = Payload({"key": "k"}, [EnvelopeItem(n=2)], date=WHEN)
    envelope = PayloadEnvelope().fromVortexMsg(payload.toVortexMsg())
    assert Payload().fromEncodedPayload(envelope.encodedPayload).tuples == [EnvelopeItem(n=2)]


def test_small_deferred_variants_run_inline():
    """Small payloads' Defer variants fire at once, without a reactor or thread."""
    payload = Payload({"key": "k"}, [EnvelopeItem(n=3)], date=WHEN)
    envelope = _sync.successResultOf(payload.makePayloadEnvelopeDefer())
    message = _sync.successResultOf(envelope.toVortexMsgDefer())
    parsed = _sync.successResultOf(PayloadEnvelope.fromVortexMsgDefer(message))
    decoded = _sync.successResultOf(parsed.decodePayloadDefer())
    assert decoded.tuples == [EnvelopeItem(n=3)]
    assert _sync.successResultOf(payload.toVortexMsgDefer()) == message


def test_deferred_variant_failure_is_a_failed_deferred():
    """A decode error from a Defer variant arrives as a failed Deferred, not an exception."""
    failure = _sync.failureResultOf(PayloadEnvelope.fromVortexMsgDefer(b"junk"))
    assert failure.check(VortexDecodeError)


class _InlinePool:
    def __init__(self):
        self.calls = 0

    def callInThreadWithCallback(self, onResult, fn, *args, **kwargs):
        self.calls += 1
        onResult(True, fn(*args, **kwargs))


class _FakeReactor:
    def __init__(self):
        self.pool = _InlinePool()

    def getThreadPool(self):
        return self.pool

    def callFromThread(self, fn, *args, **kwargs):
        fn(*args, **kwargs)


def test_large_payload_encoding_goes_to_the_reactor_thread_pool():
    """Payloads above the inline limit are encoded and decoded in the given reactor's pool."""
    reactor = _FakeReactor()
    payload = Payload(
        {"key": "k"}, [EnvelopeItem(n="x" * 600) for _ in range(INLINE_MAX_TUPLES + 1)]
    )
    encoded = payload.toEncodedPayloadDefer(reactor=reactor)
    decoded = Payload.fromEncodedPayloadDefer(_sync.successResultOf(encoded), reactor=reactor)
    assert reactor.pool.calls == 2
    assert len(_sync.successResultOf(decoded).tuples) == INLINE_MAX_TUPLES + 1
