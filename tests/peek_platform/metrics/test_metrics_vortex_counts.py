"""The vortex collector: real linked factories, scraped and parsed as Prometheus text."""

from __future__ import annotations

import pytest
from linkedvortexes import AGENT, FIELD, LOGIC, settle, spinUntil
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from peek_platform.metrics.collectors import VortexCollector
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.handler.TupleDataObservableHandler import (
    TupleDataObservableHandler,
    TuplesProviderABC,
)
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.Payload import Payload
from vortex.rpc.RPC import VortexRPCError, vortexRPC
from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.TupleAction import TupleGenericAction
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import VortexFactory

OBSERVABLE = "tests.metrics.observable"
PROCESSOR = "tests.metrics.actions"


@vortexRPC(LOGIC)
def metricsAdd(a: int, b: int) -> int:
    """The known RPC the tests count."""
    return a + b


@vortexRPC(LOGIC)
def metricsBoom() -> None:
    """An RPC that always fails."""
    raise ValueError("boom")


ADD_NAME = f"{metricsAdd._func.__module__}.metricsAdd"
BOOM_NAME = f"{metricsBoom._func.__module__}.metricsBoom"


@addTupleType
class MetricsCountTuple(Tuple):
    """Observed data of the observable tests."""

    __tupleType__ = "tests.metrics.MetricsCountTuple"
    value = TupleField()


SELECTOR = TupleSelector(MetricsCountTuple.tupleName(), {})


class Provider(TuplesProviderABC):
    """Serves one counter tuple."""

    def makeVortexMsg(self, filt, tupleSelector):
        return Payload(filt, tuples=[MetricsCountTuple(value=1)]).toVortexMsg()


class Echo(TupleActionProcessorDelegateABC):
    """Answers actions with nothing, or raises when the action's key says so."""

    def processTupleAction(self, tupleAction):
        if tupleAction.key == "fail":
            raise RuntimeError("refused by the test")
        return None


def scrape(factory: VortexFactory) -> dict[tuple[str, frozenset], float]:
    """Every sample of a registry holding only the vortex collector, parsed from its text."""
    registry = CollectorRegistry()
    registry.register(VortexCollector(lambda: factory))
    text = generate_latest(registry).decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def linked(vortexes):
    """Logic serving the RPCs, an agent linked to it."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    spinUntil(lambda: logic.isVortexNameConnected(AGENT))
    metricsAdd.start(vortexFactory=logic)
    metricsBoom.start(vortexFactory=logic)
    yield logic, agent
    metricsAdd.shutdown()
    metricsBoom.shutdown()


def test_rpc_calls_errors_and_latency_are_counted_on_both_sides(linked):
    """A served RPC counts calls, errors and a latency histogram per name, on the server
    side in logic and on the client side in the caller."""
    logic, agent = linked
    for n in range(3):
        assert settle(metricsAdd.using(agent)(n, 1)) == n + 1
    with pytest.raises(VortexRPCError):
        settle(metricsBoom.using(agent)())

    served, called = scrape(logic), scrape(agent)
    server = {"rpc": ADD_NAME, "role": "server"}
    client = {"rpc": ADD_NAME, "role": "client"}
    assert value(served, "peek_vortex_rpc_calls_total", **server) == 3
    assert value(served, "peek_vortex_rpc_errors_total", **server) == 0
    assert value(served, "peek_vortex_rpc_seconds_count", **server) == 3
    assert value(served, "peek_vortex_rpc_seconds_bucket", **server, le="+Inf") == 3
    assert value(served, "peek_vortex_rpc_seconds_sum", **server) > 0
    assert value(called, "peek_vortex_rpc_calls_total", **client) == 3
    assert value(called, "peek_vortex_rpc_seconds_count", **client) == 3
    boomServer = {"rpc": BOOM_NAME, "role": "server"}
    assert value(served, "peek_vortex_rpc_errors_total", **boomServer) == 1
    assert value(called, "peek_vortex_rpc_errors_total", rpc=BOOM_NAME, role="client") == 1


def test_links_and_traffic_are_counted_per_peer_and_survive_the_link(vortexes, linked):
    """Links up and messages/bytes each way are reported per peer; a closed link's counts
    stay in the totals (counters never go down) while its link is no longer up."""
    logic, agent = linked
    settle(metricsAdd.using(agent)(1, 2))
    before = scrape(logic)
    assert value(before, "peek_vortex_links", peer=AGENT) == 1
    received = value(before, "peek_vortex_received_messages_total", peer=AGENT)
    sent = value(before, "peek_vortex_sent_messages_total", peer=AGENT)
    assert received >= 1 and sent >= 1
    assert value(before, "peek_vortex_received_bytes_total", peer=AGENT) > received
    assert value(scrape(agent), "peek_vortex_sent_messages_total", peer=LOGIC) == received

    vortexes.drop(agent, LOGIC)
    spinUntil(lambda: not logic.isVortexNameConnected(AGENT))
    after = scrape(logic)
    assert value(after, "peek_vortex_links", peer=AGENT) == 0
    assert value(after, "peek_vortex_received_messages_total", peer=AGENT) == received
    assert value(after, "peek_vortex_sent_messages_total", peer=AGENT) == sent


def test_device_links_are_counted_together(vortexes):
    """Every device (browser) link is counted under the one peer ``device``."""
    field = vortexes.server(FIELD)
    vortexes.client("tab-one", FIELD, device=True)
    vortexes.client("tab-two", FIELD, device=True)
    spinUntil(lambda: len(field.remoteVortexes()) == 2)
    assert value(scrape(field), "peek_vortex_links", peer="device") == 2


def test_actions_are_counted_per_processor(linked):
    """Each processed action is counted with its latency; a delegate's error is an error."""
    logic, agent = linked
    processor = TupleActionProcessor(PROCESSOR, defaultDelegate=Echo(), vortexFactory=logic)
    client = TupleActionPushClient(LOGIC, PROCESSOR, vortexFactory=agent)
    settle(client.pushAction(TupleGenericAction(key="ok")))
    settle(client.pushAction(TupleGenericAction(key="ok")))
    with pytest.raises(Exception, match="refused by the test"):
        settle(client.pushAction(TupleGenericAction(key="fail")))
    processor.shutdown()
    samples = scrape(logic)
    assert value(samples, "peek_vortex_actions_total", processor=PROCESSOR) == 3
    assert value(samples, "peek_vortex_action_errors_total", processor=PROCESSOR) == 1
    assert value(samples, "peek_vortex_action_seconds_count", processor=PROCESSOR) == 3


def test_observable_subscribers_and_proxy_cache_entries_are_counted(vortexes):
    """Subscribers per observable on logic, and device subscribers and cached selectors per
    proxied observable on field; a handler shut down is no longer reported."""
    logic = vortexes.server(LOGIC)
    handler = TupleDataObservableHandler(OBSERVABLE, vortexFactory=logic)
    handler.addTupleProvider(MetricsCountTuple.tupleName(), Provider())
    field = vortexes.server(FIELD)
    proxy = TupleDataObservableProxyHandler(OBSERVABLE, LOGIC, vortexFactory=field)
    vortexes.connect(field, LOGIC)
    received: list = []
    for name in ("tab-one", "tab-two"):
        device = vortexes.client(name, FIELD, device=True)
        observer = TupleDataObserverClient(FIELD, OBSERVABLE, vortexFactory=device)
        observer.subscribeToTupleSelector(SELECTOR, received.append)
    spinUntil(lambda: len(received) == 2)

    assert value(scrape(logic), "peek_vortex_observable_subscribers", observable=OBSERVABLE) == 1
    fieldSamples = scrape(field)
    labels = {"observable": OBSERVABLE}
    assert value(fieldSamples, "peek_vortex_observable_proxy_subscribers", **labels) == 2
    assert value(fieldSamples, "peek_vortex_observable_proxy_cache_entries", **labels) == 1

    proxy.shutdown()
    handler.shutdown()
    assert ("peek_vortex_observable_subscribers", frozenset(labels.items())) not in scrape(logic)
    assert ("peek_vortex_observable_proxy_cache_entries", frozenset(labels.items())) not in (
        scrape(field)
    )
