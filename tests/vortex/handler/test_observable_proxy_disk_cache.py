"""TupleDataObservableProxyHandler with a TupleStoreSqlite: a proxy in a new process (a new
field vortex) answers devices from disk while logic is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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

from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.storage.tuple_store_sqlite import TupleStoreSqlite

#: The field vortex after the "restart": a new factory with a new process's empty memory.
RESTARTED = "peek-field-service-restarted"


@pytest.fixture
def storePath(tmp_path: Path) -> Path:
    return tmp_path / "tuple_cache.sqlite"


@pytest.fixture
def stores() -> Iterator[list[TupleStoreSqlite]]:
    """Stores a test opens, closed after it."""
    opened: list[TupleStoreSqlite] = []
    yield opened
    for store in opened:
        store.close()


def _observer(vortexes, name: str, fieldName: str) -> TupleDataObserverClient:
    factory = vortexes.client(name, fieldName, device=True)
    return TupleDataObserverClient(
        fieldName, OBSERVABLE, additionalFilt=FILT, vortexFactory=factory
    )


def _firstLife(vortexes, storePath: Path, stores: list) -> None:
    """Logic and a field with a disk cache; a device sees the counter reach 5; then the
    field's proxy stops (its store closed) and logic goes down."""
    logic = vortexes.server(LOGIC)
    handler = TupleDataObservableHandler(OBSERVABLE, additionalFilt=FILT, vortexFactory=logic)
    provider = CounterProvider()
    handler.addTupleProvider(CounterTuple.tupleName(), provider)
    field = vortexes.server(FIELD)
    store = TupleStoreSqlite(storePath, maxBytes=1_000_000)
    stores.append(store)
    proxy = TupleDataObservableProxyHandler(
        OBSERVABLE, LOGIC, additionalFilt=FILT, vortexFactory=field, tupleStore=store
    )
    vortexes.connect(field, LOGIC)
    received: list = []
    _observer(vortexes, "device-1", FIELD).subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    provider.value = 5
    handler.notifyOfTupleUpdate(SELECTOR)
    spinUntil(lambda: values(received)[-1] == 5)
    proxy.shutdown()
    store.close()
    vortexes.stopServer(logic)


def _restartedField(vortexes, storePath: Path, stores: list) -> None:
    """A new field vortex whose factory carries the reopened store, with a new proxy; logic
    is down."""
    field = vortexes.server(RESTARTED)
    store = TupleStoreSqlite(storePath, maxBytes=1_000_000)
    stores.append(store)
    field.tupleStore = store
    TupleDataObservableProxyHandler(OBSERVABLE, LOGIC, additionalFilt=FILT, vortexFactory=field)
    assert not field.isVortexNameConnected(LOGIC)


def test_restarted_proxy_answers_a_subscribing_device_from_disk(vortexes, storePath, stores):
    """After a restart with logic down, a device subscribing gets the last data from disk."""
    _firstLife(vortexes, storePath, stores)
    _restartedField(vortexes, storePath, stores)
    received: list = []
    _observer(vortexes, "device-2", RESTARTED).subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: received)
    assert values(received) == [5]


def test_restarted_proxy_answers_a_poll_from_disk(vortexes, storePath, stores):
    """After a restart with logic down, a poll is answered from disk, not with an error."""
    _firstLife(vortexes, storePath, stores)
    _restartedField(vortexes, storePath, stores)
    device = _observer(vortexes, "device-2", RESTARTED)
    assert settle(device.pollForTuples(SELECTOR)) == [CounterTuple(value=5)]
