"""TupleDataObservableProxyHandler on a field vortex between devices and logic."""

from __future__ import annotations

import pytest
from linkedvortexes import FIELD, LOGIC, settle, spinUntil
from test_TupleDataObservableHandler import (
    FILT,
    OBSERVABLE,
    SELECTOR,
    CounterProvider,
    CounterTuple,
    values,
)
from twisted.internet import task

from vortex.handler.MessageUtil import ERROR_NOT_CONNECTED, TupleObserveError
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient


class Site:
    """Logic with an observable, a field with the proxy, and device observers on the field."""

    def __init__(self, vortexes) -> None:
        self.vortexes = vortexes
        self.logic = vortexes.server(LOGIC)
        self.handler = TupleDataObservableHandler(
            OBSERVABLE, additionalFilt=FILT, vortexFactory=self.logic
        )
        self.provider = CounterProvider()
        self.handler.addTupleProvider(CounterTuple.tupleName(), self.provider)
        self.field = vortexes.server(FIELD)
        self.clock = task.Clock()
        self.proxy = TupleDataObservableProxyHandler(
            OBSERVABLE, LOGIC, additionalFilt=FILT, vortexFactory=self.field, clock=self.clock
        )
        vortexes.connect(self.field, LOGIC)

    def device(self, name: str) -> TupleDataObserverClient:
        """A browser-like observer linked to the field as a device."""
        factory = self.vortexes.client(name, FIELD, device=True)
        return TupleDataObserverClient(
            FIELD, OBSERVABLE, additionalFilt=FILT, vortexFactory=factory
        )


@pytest.fixture
def site(vortexes) -> Site:
    """The three-tier setup."""
    return Site(vortexes)


def test_many_devices_share_one_upstream_subscription(site):
    """Five devices observing one selector cause one logic subscription and one provider call."""
    received = {n: [] for n in range(5)}
    for n in range(5):
        site.device(f"device-{n}").subscribeToTupleSelector(SELECTOR, received[n].append)
    spinUntil(lambda: all(received.values()))
    assert site.handler.subscriberCount(SELECTOR) == 1
    assert site.provider.calls == 1
    assert all(values(r) == [0] for r in received.values())


def test_updates_reach_every_device(site):
    """A notify on logic reaches every device through the proxy."""
    received = {n: [] for n in range(3)}
    for n in range(3):
        site.device(f"device-{n}").subscribeToTupleSelector(SELECTOR, received[n].append)
    spinUntil(lambda: all(received.values()))
    site.provider.value = 8
    site.handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: all(values(r)[-1] == 8 for r in received.values()))


def test_new_device_is_answered_from_cache(site):
    """A device joining later gets the data without another upstream call."""
    first: list = []
    site.device("device-1").subscribeToTupleSelector(SELECTOR, first.append)
    spinUntil(lambda: first)
    second: list = []
    site.device("device-2").subscribeToTupleSelector(SELECTOR, second.append)
    spinUntil(lambda: second)
    assert site.provider.calls == 1
    assert values(second) == [0]


def test_upstream_dropped_after_idle_delay(site):
    """The upstream subscription outlives the last device by the idle delay, then ends."""
    received: list = []
    subscription = site.device("device-1").subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    subscription.unsubscribe()
    spinUntil(lambda: site.proxy.deviceSubscriptionCount() == 0)
    site.clock.advance(29)
    assert site.proxy.upstreamSubscriptionCount() == 1
    site.clock.advance(2)
    assert site.proxy.upstreamSubscriptionCount() == 0
    spinUntil(lambda: site.handler.subscriberCount(SELECTOR) == 0)


def test_device_returning_within_idle_delay_keeps_upstream(site):
    """A device subscribing during the idle delay cancels the drop and is served from cache."""
    device = site.device("device-1")
    received: list = []
    device.subscribeToTupleSelector(SELECTOR, received.append).unsubscribe()
    spinUntil(
        lambda: (
            site.proxy.upstreamSubscriptionCount() == 1
            and site.proxy.deviceSubscriptionCount() == 0
        )
    )
    again: list = []
    device.subscribeToTupleSelector(SELECTOR, again.append)
    spinUntil(lambda: again)
    site.clock.advance(60)
    assert site.proxy.upstreamSubscriptionCount() == 1
    assert site.handler.subscriberCount(SELECTOR) == 1


def test_device_disconnect_counts_as_leaving(site, vortexes):
    """A device whose link drops stops counting; the idle timer then drops upstream."""
    received: list = []
    site.device("device-1").subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    vortexes.drop(site.field, "device-1")
    assert site.proxy.deviceSubscriptionCount() == 0
    site.clock.advance(31)
    assert site.proxy.upstreamSubscriptionCount() == 0


def test_upstream_reconnect_resubscribes_and_pushes_fresh_data(site, vortexes):
    """After the logic link returns, every device gets data fetched after the reconnect."""
    received = {n: [] for n in range(3)}
    for n in range(3):
        site.device(f"device-{n}").subscribeToTupleSelector(SELECTOR, received[n].append)
    spinUntil(lambda: all(received.values()))
    vortexes.drop(site.field, LOGIC)
    site.provider.value = 42
    spinUntil(lambda: all(values(r)[-1] == 42 for r in received.values()))
    assert site.handler.subscriberCount(SELECTOR) == 1


def test_poll_is_answered_from_cache_or_upstream(site):
    """A device poll gets current data: upstream when nothing is cached, cache otherwise."""
    device = site.device("device-1")
    site.provider.value = 3
    assert settle(device.pollForTuples(SELECTOR)) == [CounterTuple(value=3)]
    received: list = []
    device.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    calls = site.provider.calls
    assert settle(device.pollForTuples(SELECTOR)) == [CounterTuple(value=3)]
    assert site.provider.calls == calls


def test_poll_while_upstream_down_gets_one_error(site, vortexes):
    """A device poll with logic unreachable fails with not-connected."""
    device = site.device("device-1")
    vortexes.stopServer(site.logic)
    spinUntil(lambda: not site.field.isVortexNameConnected(LOGIC))
    with pytest.raises(TupleObserveError) as info:
        settle(device.pollForTuples(SELECTOR))
    assert info.value.code == ERROR_NOT_CONNECTED


def test_devices_keep_cached_data_while_upstream_down(site, vortexes):
    """With logic unreachable a new device still gets the cached data."""
    first: list = []
    site.device("device-1").subscribeToTupleSelector(SELECTOR, first.append)
    spinUntil(lambda: first)
    vortexes.stopServer(site.logic)
    spinUntil(lambda: not site.field.isVortexNameConnected(LOGIC))
    second: list = []
    site.device("device-2").subscribeToTupleSelector(SELECTOR, second.append)
    spinUntil(lambda: second)
    assert values(second) == [0]
