"""PayloadEndpoint matching and PayloadIO dispatch."""

import pytest
from twisted.internet import defer
from twisted.logger import Logger

from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.PayloadIO import PayloadIO


def envelope(filt: dict) -> PayloadEnvelope:
    return PayloadEnvelope(filt=filt)


@pytest.fixture
def io() -> PayloadIO:
    return PayloadIO()


def collect(io: PayloadIO, filt: dict, **kwargs) -> list:
    calls: list = []
    PayloadEndpoint(filt, lambda env, **kw: calls.append((env, kw)), payloadIO=io, **kwargs)
    return calls


@pytest.mark.parametrize(
    ("pattern", "filt", "matches"),
    [
        ({"key": "a"}, {"key": "a", "other": 1}, True),
        ({"key": "a", "n": {"x": [1, 2]}}, {"key": "a", "n": {"x": [1, 2]}}, True),
        ({"key": "a", "n": {"x": [1, 2]}}, {"key": "a", "n": {"x": [1, 2, 3]}}, False),
        ({"key": "a"}, {"key": "b"}, False),
        ({"key": "a", "extra": 1}, {"key": "a"}, False),
        ({"n": 1}, {"n": True}, False),
        ({"n": 1}, {"n": 1.0}, False),
        ({"n": None}, {"n": None}, True),
        ({"n": None}, {}, False),
    ],
)
def test_endpoint_matches_when_its_filt_is_a_deep_subset(io, pattern, filt, matches):
    """An endpoint gets a payload iff each of its filt items is in the payload filt (deep ==)."""
    calls = collect(io, pattern)
    io.process(envelope(filt))
    assert bool(calls) is matches


def test_callback_receives_envelope_and_sender_context(io):
    """The callback gets the envelope plus vortexUuid, vortexName and sendResponse keywords."""
    calls = collect(io, {"key": "a"})
    env = envelope({"key": "a"})
    send = object()
    io.process(env, vortexUuid="u1", vortexName="peer", sendResponse=send)
    assert calls == [(env, {"vortexUuid": "u1", "vortexName": "peer", "sendResponse": send})]


def test_accept_only_from_vortex_filters_on_sender_identity(io):
    """acceptOnlyFromVortex drops payloads from any other (authenticated) vortex name."""
    calls = collect(io, {"key": "a"}, acceptOnlyFromVortex="peek-logic-service")
    io.process(envelope({"key": "a"}), vortexName="peek-field-app")
    io.process(envelope({"key": "a"}), vortexName="peek-logic-service")
    assert [kw["vortexName"] for _, kw in calls] == ["peek-logic-service"]


def test_shutdown_stops_delivery(io):
    """After shutdown() an endpoint receives nothing and is unregistered."""
    calls: list = []
    endpoint = PayloadEndpoint({"key": "a"}, lambda env, **kw: calls.append(env), payloadIO=io)
    endpoint.shutdown()
    endpoint.shutdown()
    io.process(envelope({"key": "a"}))
    assert calls == [] and io.endpointCount() == 0


def test_callback_may_shut_down_endpoints_during_dispatch(io):
    """A callback can shut itself and later endpoints down; those are skipped, others run."""
    order: list = []

    def first(env, **kw):
        order.append("first")
        firstEndpoint.shutdown()
        secondEndpoint.shutdown()

    firstEndpoint = PayloadEndpoint({"key": "a"}, first, payloadIO=io)
    secondEndpoint = PayloadEndpoint({"key": "a"}, lambda e, **kw: order.append("2"), payloadIO=io)
    PayloadEndpoint({"other": 1}, lambda e, **kw: order.append("third"), payloadIO=io)
    io.process(envelope({"key": "a", "other": 1}))
    io.process(envelope({"key": "a", "other": 1}))
    assert order == ["first", "third", "third"]


def test_dispatch_follows_registration_order_across_indexed_and_unindexed(io):
    """Endpoints are called in registration order whether or not their filt has a 'key'."""
    order: list = []
    PayloadEndpoint({"key": "a"}, lambda e, **kw: order.append(1), payloadIO=io)
    PayloadEndpoint({"x": 1}, lambda e, **kw: order.append(2), payloadIO=io)
    PayloadEndpoint({"key": "a", "x": 1}, lambda e, **kw: order.append(3), payloadIO=io)
    io.process(envelope({"key": "a", "x": 1}))
    assert order == [1, 2, 3]


def test_failing_callback_is_logged_and_others_still_run():
    """One callback raising is logged with its filt; the other endpoints still get the payload."""
    events: list = []
    io = PayloadIO(log=Logger(observer=events.append))
    PayloadEndpoint({"key": "a"}, lambda e, **kw: 1 / 0, payloadIO=io)
    calls = collect(io, {"key": "a"})
    d = io.process(envelope({"key": "a"}), vortexName="peer")
    assert len(calls) == 1
    assert d.result == 2
    assert events[0]["filt"] == {"key": "a"}
    assert events[0]["log_failure"].check(ZeroDivisionError)


def test_process_waits_for_deferred_and_coroutine_callbacks(io):
    """process() fires with the endpoint count only after async callbacks have finished."""
    pending = defer.Deferred()

    async def coroutineCallback(env, **kw):
        await pending

    PayloadEndpoint({"key": "a"}, coroutineCallback, payloadIO=io)
    PayloadEndpoint({"key": "a"}, lambda e, **kw: pending, payloadIO=io)
    d = io.process(envelope({"key": "a"}))
    assert not d.called
    pending.callback(None)
    assert d.result == 2


def test_process_vortex_msg_decodes_header_and_dispatches(io):
    """processVortexMsg parses wire bytes and dispatches the envelope with the body intact."""
    calls = collect(io, {"key": "a"})
    message = Payload({"key": "a"}, tuples=[]).toVortexMsg()
    io.processVortexMsg(message, vortexName="peer")
    assert calls[0][0].decodePayload().filt == {"key": "a"}


def test_endpoint_without_payload_io_uses_process_default():
    """PayloadEndpoint(filt, cb) as in the manual registers with PayloadIO.default()."""
    calls: list = []
    endpoint = PayloadEndpoint({"key": "tests.default"}, lambda e, **kw: calls.append(e))
    try:
        PayloadIO.default().process(envelope({"key": "tests.default"}))
    finally:
        endpoint.shutdown()
    assert len(calls) == 1 and not PayloadIO.default().isRegistered(endpoint)


@pytest.mark.parametrize("filt", [{}, None, [("key", "a")]])
def test_empty_or_non_dict_filt_is_refused(io, filt):
    """An endpoint with an empty or non-dict filt (which would match everything) is refused."""
    with pytest.raises(ValueError, match="non-empty dict"):
        PayloadEndpoint(filt, lambda e, **kw: None, payloadIO=io)


def test_dispatch_calls_matching_endpoints_with_sender_context(io):
    """dispatch() (the transport's entry) delivers like process() and returns nothing."""
    calls = collect(io, {"key": "a"})
    collect(io, {"key": "b"})
    sent = envelope({"key": "a"})
    assert io.dispatch(sent, "uuid-1", "peer", print) is None
    assert calls == [(sent, {"vortexUuid": "uuid-1", "vortexName": "peer", "sendResponse": print})]


def test_dispatch_logs_failures_of_asynchronous_callbacks():
    """A Deferred callback result failing after dispatch() returned is logged with its filt."""
    events: list = []
    io = PayloadIO(log=Logger(observer=events.append))
    later = defer.Deferred()
    PayloadEndpoint({"key": "a"}, lambda e, **kw: later, payloadIO=io)
    io.dispatch(envelope({"key": "a"}), None, "peer", None)
    assert events == []
    later.errback(KeyError("gone"))
    assert events[0]["filt"] == {"key": "a"}
    assert events[0]["log_failure"].check(KeyError)
