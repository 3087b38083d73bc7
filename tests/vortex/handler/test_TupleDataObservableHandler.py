"""TupleDataObservableHandler served to TupleDataObserverClients over loopback websockets."""

from __future__ import annotations

import threading

import pytest
from linkedvortexes import AGENT, FIELD, LOGIC, settle, spinUntil
from twisted.internet import defer

from vortex.handler.MessageUtil import (
    ERROR_EXCEPTION,
    ERROR_UNKNOWN_TUPLE,
    PendingRequests,
    TupleObserveError,
)
from vortex.handler.TupleDataObservableHandler import (
    DATA_KEY_PREFIX,
    REQUEST_KEY_PREFIX,
    TupleDataObservableHandler,
    TuplesProviderABC,
    sendObservableRequest,
)
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import NoVortexException

OBSERVABLE = "tests.observable"
FILT = {"plugin": "tests_plugin"}


@addTupleType
class CounterTuple(Tuple):
    """The observed data: one counter value."""

    __tupleType__ = "tests.handler.CounterTuple"
    value = TupleField()


SELECTOR = TupleSelector(CounterTuple.tupleName(), {})


class CounterProvider(TuplesProviderABC):
    """Serves the current counter the way the manual's providers do (vortex message bytes)."""

    def __init__(self) -> None:
        self.value = 0
        self.calls = 0
        self.held: list[defer.Deferred] = []
        self.hold = False
        self.fail = False

    def makeVortexMsg(self, filt, tupleSelector):
        self.calls += 1
        if self.fail:
            raise RuntimeError("database is down")
        msg = Payload(filt, tuples=[CounterTuple(value=self.value)]).toVortexMsg()
        if not self.hold:
            return msg
        d = defer.Deferred()
        self.held.append(d)
        return d.addCallback(lambda _: msg)


@pytest.fixture
def observed(vortexes):
    """Logic with an observable and provider; an agent with an observer client."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    handler = TupleDataObservableHandler(OBSERVABLE, additionalFilt=FILT, vortexFactory=logic)
    provider = CounterProvider()
    handler.addTupleProvider(CounterTuple.tupleName(), provider)
    client = TupleDataObserverClient(LOGIC, OBSERVABLE, additionalFilt=FILT, vortexFactory=agent)
    return logic, agent, handler, provider, client


def values(received: list[list]) -> list[int]:
    """The counter values in a list of received tuple lists."""
    return [tuples[0].value for tuples in received]


def test_subscriber_gets_initial_data(observed):
    """Subscribing delivers the current data."""
    _, _, _, provider, client = observed
    provider.value = 7
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    assert values(received) == [7]


def test_subscriber_gets_update_after_notify(observed):
    """notifyOfTupleUpdate sends the new data to the subscriber."""
    _, _, handler, provider, client = observed
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    provider.value = 1
    handler.notifyOfTupleUpdate(TupleSelector(CounterTuple.tupleName(), {}))
    spinUntil(lambda: len(received) == 2)
    assert values(received) == [0, 1]


def test_notify_for_tuple_name_updates_its_selectors(observed):
    """notifyOfTupleUpdateForTuple updates every selector naming the tuple."""
    _, _, handler, provider, client = observed
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    provider.value = 3
    handler.notifyOfTupleUpdateForTuple(CounterTuple.tupleName())
    spinUntil(lambda: len(received) == 2)
    assert values(received) == [0, 3]


def test_notifies_during_a_provider_call_coalesce_to_one_more_call(observed):
    """Many notifies while a call is in flight cause exactly one more call, with the latest data."""
    _, _, handler, provider, client = observed
    provider.hold = True
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: provider.held)
    for value in range(1, 51):
        provider.value = value
        handler.notifyOfTupleUpdate(SELECTOR)
    provider.held.pop(0).callback(None)
    spinUntil(lambda: provider.held)
    provider.held.pop(0).callback(None)
    spinUntil(lambda: len(received) == 2)
    assert provider.calls == 2
    assert values(received) == [0, 50]


def test_burst_of_notifies_is_never_reordered(observed):
    """Back-to-back notifies deliver increasing states ending with the final one."""
    _, _, handler, provider, client = observed
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    for value in range(1, 101):
        provider.value = value
        handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: values(received)[-1] == 100)
    seen = values(received)
    assert seen == sorted(seen)


def test_notify_from_another_thread_is_delivered(observed):
    """notifyOfTupleUpdate called from a non-reactor thread still updates subscribers."""
    _, _, handler, provider, client = observed
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    provider.value = 9
    thread = threading.Thread(target=handler.notifyOfTupleUpdate, args=(SELECTOR,))
    thread.start()
    thread.join()
    spinUntil(lambda: len(received) == 2)
    assert values(received) == [0, 9]


def test_unsubscribe_stops_updates(observed):
    """After unsubscribe the handler forgets the subscriber and sends nothing more."""
    _, _, handler, provider, client = observed
    received: list = []
    subscription = client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    subscription.unsubscribe()
    spinUntil(lambda: handler.subscriberCount(SELECTOR) == 0)
    calls = provider.calls
    handler.notifyOfTupleUpdate(SELECTOR)
    assert provider.calls == calls


def test_subscription_dies_with_its_connection(observed, vortexes):
    """Dropping the subscriber's link removes its subscription on the handler."""
    logic, _, handler, _, client = observed
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    assert handler.subscriberCount(SELECTOR) == 1
    vortexes.drop(logic, AGENT)
    assert handler.subscriberCount(SELECTOR) == 0


def test_client_resubscribes_after_reconnect(observed, vortexes):
    """After the link comes back the client subscribes again and gets current data."""
    logic, _, handler, provider, client = observed
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    vortexes.drop(logic, AGENT)
    provider.value = 5
    spinUntil(lambda: handler.subscriberCount(SELECTOR) == 1)
    spinUntil(lambda: values(received)[-1] == 5)
    provider.value = 6
    handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: values(received)[-1] == 6)


def test_unknown_tuple_name_gets_an_error(observed):
    """A selector without a provider is answered with an unknown-tuple error."""
    _, _, _, _, client = observed
    errors: list = []
    client.subscribeToTupleSelector(TupleSelector("no.such.Tuple", {}), list, errors.append)
    spinUntil(lambda: errors)
    assert isinstance(errors[0], TupleObserveError)
    assert errors[0].code == ERROR_UNKNOWN_TUPLE
    assert "no.such.Tuple" in errors[0].remoteMessage


def test_provider_error_reaches_subscriber_and_keeps_subscription(observed, caplog):
    """A raising provider sends an exception error; a later update still arrives."""
    _, _, handler, provider, client = observed
    received: list = []
    errors: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append, errors.append)
    spinUntil(lambda: received)
    provider.fail = True
    handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: errors)
    assert errors[0].code == ERROR_EXCEPTION
    assert errors[0].remoteType == "RuntimeError"
    assert "database is down" in caplog.text
    provider.fail = False
    provider.value = 2
    handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: len(received) == 2)
    assert values(received) == [0, 2]


def test_poll_gets_current_data_once(observed):
    """pollForTuples returns the current tuples without subscribing."""
    _, _, handler, provider, client = observed
    provider.value = 4
    tuples = settle(client.pollForTuples(SELECTOR))
    assert tuples == [CounterTuple(value=4)]
    assert handler.subscriberCount(SELECTOR) == 0


def test_poll_of_unknown_tuple_fails(observed):
    """pollForTuples of a selector without a provider fails with TupleObserveError."""
    _, _, _, _, client = observed
    with pytest.raises(TupleObserveError):
        settle(client.pollForTuples(TupleSelector("no.such.Tuple", {})))


def test_poll_without_link_fails_at_once(vortexes):
    """pollForTuples to an unconnected vortex has already failed."""
    lonely = vortexes.server(AGENT)
    client = TupleDataObserverClient(LOGIC, OBSERVABLE, vortexFactory=lonely)
    failures: list = []
    client.pollForTuples(SELECTOR).addErrback(failures.append)
    assert failures and failures[0].check(NoVortexException)


def test_duplicate_provider_is_an_error(observed):
    """Registering a second provider for one tuple name raises."""
    _, _, handler, _, _ = observed
    with pytest.raises(ValueError, match=CounterTuple.tupleName()):
        handler.addTupleProvider(CounterTuple.tupleName(), CounterProvider())


# ---- several subscribers, ended and replaced subscriptions, idle selectors --------------

OTHER_SELECTOR = TupleSelector(CounterTuple.tupleName(), {"other": True})


@addTupleType
class GaugeTuple(Tuple):
    """A second observed tuple type, to tell selectors of different tuple names apart."""

    __tupleType__ = "tests.handler.GaugeTuple"
    value = TupleField()


class GaugeProvider(CounterProvider):
    """Serves a GaugeTuple instead of a CounterTuple."""

    def makeVortexMsg(self, filt, tupleSelector):
        self.calls += 1
        return Payload(filt, tuples=[GaugeTuple(value=self.value)]).toVortexMsg()


class RawObserver:
    """Sends observable requests with chosen subIds from a factory and records every data
    message it gets back, unfiltered (the client would drop data for subIds it forgot)."""

    def __init__(self, factory) -> None:
        self._factory = factory
        self.received: list[tuple[str, TupleSelector, int]] = []
        self._endpoint = PayloadEndpoint(
            {**FILT, "key": DATA_KEY_PREFIX + OBSERVABLE},
            self._onData,
            payloadIO=factory.payloadIO,
        )

    def send(self, op: str, subId: str, tupleSelector: TupleSelector) -> None:
        """Send one subscribe/unsubscribe/poll request to the logic service."""
        requestFilt = {**FILT, "key": REQUEST_KEY_PREFIX + OBSERVABLE}
        polls = PendingRequests(self._factory.reactor, "raw observer")
        sendObservableRequest(self._factory, LOGIC, requestFilt, op, subId, tupleSelector, polls)

    def _onData(self, envelope, **_) -> None:
        tuples = envelope.decodePayload().tuples
        self.received.append((envelope.filt["subId"], envelope.filt["tupleSelector"], tuples))

    def subIds(self) -> list[str]:
        """The subIds of the data messages received so far, in order."""
        return [subId for subId, _, _ in self.received]

    def shutdown(self) -> None:
        self._endpoint.shutdown()


@pytest.fixture
def raw(observed):
    """A RawObserver on the agent of ``observed``."""
    _, agent, _, _, _ = observed
    observer = RawObserver(agent)
    yield observer
    observer.shutdown()


def test_notify_reaches_every_subscriber_of_a_selector(observed, vortexes):
    """Two subscribers of one selector, on two links, both get every notified update."""
    _, _, handler, provider, client = observed
    second = TupleDataObserverClient(
        LOGIC,
        OBSERVABLE,
        additionalFilt=FILT,
        vortexFactory=vortexes.client(FIELD, LOGIC),
    )
    first: list = []
    other: list = []
    client.subscribeToTupleSelector(SELECTOR, first.append)
    second.subscribeToTupleSelector(SELECTOR, other.append)
    spinUntil(lambda: first and other)
    assert handler.subscriberCount(SELECTOR) == 2
    provider.value = 1
    handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: len(first) == 2 and len(other) == 2)
    provider.value = 2
    handler.notifyOfTupleUpdateForTuple(CounterTuple.tupleName())
    spinUntil(lambda: len(first) == 3 and len(other) == 3)
    assert values(first) == values(other) == [0, 1, 2]


def test_notify_reaches_every_subscription_of_one_link(observed):
    """Two subscriptions of one selector from one client both get a notified update."""
    _, _, handler, provider, client = observed
    first: list = []
    other: list = []
    client.subscribeToTupleSelector(SELECTOR, first.append)
    client.subscribeToTupleSelector(SELECTOR, other.append)
    spinUntil(lambda: first and other)
    provider.value = 4
    handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: len(first) == 2 and len(other) == 2)
    assert values(first) == values(other) == [0, 4]


def test_no_data_for_a_subscription_ended_while_the_provider_ran(observed, raw):
    """A subscription ended during its provider call gets none of that call's data; a
    subscription started meanwhile gets the next call's data."""
    _, _, handler, provider, _ = observed
    provider.hold = True
    raw.send("subscribe", "ended", SELECTOR)
    spinUntil(lambda: provider.held)
    raw.send("unsubscribe", "ended", SELECTOR)
    spinUntil(lambda: handler.subscriberCount(SELECTOR) == 0)
    raw.send("subscribe", "later", SELECTOR)
    spinUntil(lambda: handler.subscriberCount(SELECTOR) == 1)
    provider.hold = False
    provider.held.pop(0).callback(None)
    # One link delivers in order: data for "ended" would arrive before that for "later".
    spinUntil(lambda: raw.received)
    assert raw.subIds() == ["later"]
    assert provider.calls == 2


def test_resubscribing_a_subId_replaces_its_old_subscription(observed, raw):
    """A subscribe reusing a live subId moves it: the old selector loses it and its
    updates no longer reach that subId."""
    _, _, handler, provider, _ = observed
    raw.send("subscribe", "moved", SELECTOR)
    spinUntil(lambda: len(raw.received) == 1)
    raw.send("subscribe", "moved", OTHER_SELECTOR)
    spinUntil(lambda: len(raw.received) == 2)
    assert handler.subscriberCount(SELECTOR) == 0
    assert handler.subscriberCount(OTHER_SELECTOR) == 1
    assert handler.subscriptionCount() == 1
    handler.notifyOfTupleUpdate(SELECTOR)
    handler.notifyOfTupleUpdate(OTHER_SELECTOR)
    spinUntil(lambda: len(raw.received) == 3)
    assert [selector for _, selector, _ in raw.received] == [
        SELECTOR,
        OTHER_SELECTOR,
        OTHER_SELECTOR,
    ]
    assert provider.calls == 3


def test_selectors_without_subscribers_are_dropped(observed, raw, vortexes):
    """Once its last subscription ends (by unsubscribe, a move or link loss) a selector is
    forgotten, so selectors do not pile up over time."""
    logic, _, handler, provider, _ = observed
    provider.hold = True
    raw.send("subscribe", "a", SELECTOR)
    spinUntil(lambda: provider.held)
    raw.send("unsubscribe", "a", SELECTOR)
    spinUntil(lambda: handler.subscriberCount(SELECTOR) == 0)
    assert len(handler._selectors) == 1  # its provider call is still in flight
    provider.hold = False
    provider.held.pop(0).callback(None)
    assert handler._selectors == {}
    raw.send("subscribe", "b", SELECTOR)
    raw.send("subscribe", "b", OTHER_SELECTOR)
    spinUntil(lambda: len(raw.received) == 2)
    assert list(handler._selectors) == [OTHER_SELECTOR.toJsonStr()]
    raw.send("unsubscribe", "b", OTHER_SELECTOR)
    spinUntil(lambda: handler.subscriptionCount() == 0)
    assert handler._selectors == {}
    raw.send("subscribe", "c", SELECTOR)
    spinUntil(lambda: len(raw.received) == 3)
    vortexes.drop(logic, AGENT)
    assert handler.subscriptionCount() == 0
    assert handler._selectors == {}


def test_notify_for_a_tuple_name_leaves_other_tuples_alone(observed, raw):
    """notifyOfTupleUpdateForTuple calls the providers of selectors naming that tuple only."""
    _, _, handler, counters, _ = observed
    gauges = GaugeProvider()
    handler.addTupleProvider(GaugeTuple.tupleName(), gauges)
    gaugeSelector = TupleSelector(GaugeTuple.tupleName(), {})
    raw.send("subscribe", "counter", SELECTOR)
    raw.send("subscribe", "gauge", gaugeSelector)
    spinUntil(lambda: len(raw.received) == 2)
    handler.notifyOfTupleUpdateForTuple(CounterTuple.tupleName())
    spinUntil(lambda: len(raw.received) == 3)
    assert (counters.calls, gauges.calls) == (2, 1)
    assert raw.received[-1][0] == "counter"
    handler.notifyOfTupleUpdateForTuple(GaugeTuple.tupleName())
    spinUntil(lambda: len(raw.received) == 4)
    assert (counters.calls, gauges.calls) == (2, 2)
    assert raw.received[-1][0] == "gauge"


def test_provider_runs_on_the_reactor_thread_for_a_notify_from_another_thread(observed):
    """A notify from a non-reactor thread is marshalled: the provider call and the send run
    on the reactor thread, for both notify methods."""
    _, _, handler, provider, client = observed
    threads: list = []
    serve = provider.makeVortexMsg

    def recordingMakeVortexMsg(filt, tupleSelector):
        threads.append(threading.current_thread())
        return serve(filt, tupleSelector)

    provider.makeVortexMsg = recordingMakeVortexMsg
    received: list = []
    client.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    for notify, arg in (
        (handler.notifyOfTupleUpdate, SELECTOR),
        (handler.notifyOfTupleUpdateForTuple, CounterTuple.tupleName()),
    ):
        thread = threading.Thread(target=notify, args=(arg,))
        thread.start()
        thread.join()
    spinUntil(lambda: len(received) == 3)
    assert threads == [threading.main_thread()] * 3
