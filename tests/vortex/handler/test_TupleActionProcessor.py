"""Tuple actions: processor on logic, proxy on field, push clients; exactly one response each."""

from __future__ import annotations

import pytest
from linkedvortexes import AGENT, FIELD, LOGIC, settle, spinUntil
from twisted.internet import defer, reactor

from vortex.handler.MessageUtil import (
    ERROR_EXCEPTION,
    ERROR_NO_DELEGATE,
    ERROR_NOT_CONNECTED,
    ERROR_REFUSED,
    ERROR_TIMEOUT,
    TupleActionError,
    VortexTimeoutError,
)
from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleActionProcessorProxy import TupleActionProcessorProxy
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.TupleAction import TupleActionABC, TupleGenericAction
from vortex.VortexFactory import NoVortexException

PROCESSOR = "tests.actions"
FILT = {"plugin": "tests_plugin"}


@addTupleType
class AddIntValueActionTuple(TupleActionABC):
    """The manual's example action."""

    __tupleType__ = "tests.handler.AddIntValueActionTuple"
    stringIntId = TupleField()
    offset = TupleField()


@addTupleType
class ResultTuple(Tuple):
    """What the delegate answers with."""

    __tupleType__ = "tests.handler.ResultTuple"
    total = TupleField()


class Adder(TupleActionProcessorDelegateABC):
    """Adds offsets; optionally answers later, raises, or never answers."""

    def __init__(self) -> None:
        self.total = 0
        self.mode = "now"

    def processTupleAction(self, tupleAction):
        if self.mode == "raise":
            raise NotImplementedError(tupleAction.tupleName())
        if self.mode == "hang":
            return defer.Deferred()
        self.total += tupleAction.offset
        if self.mode == "later":
            d = defer.Deferred()
            reactor.callLater(0, d.callback, [ResultTuple(total=self.total)])
            return d
        return [ResultTuple(total=self.total)]


class ResponseCounter:
    """Counts every action response message arriving at a factory, whoever it is for."""

    def __init__(self, factory) -> None:
        self.count = 0
        PayloadEndpoint(
            {"key": "vortex.action.response:" + PROCESSOR}, self._seen, payloadIO=factory.payloadIO
        )

    def _seen(self, envelope, **_):
        self.count += 1


def spinBriefly() -> None:
    """Give a stray second response a chance to arrive."""
    for _ in range(20):
        reactor.iterate(0.005)


@pytest.fixture
def direct(vortexes):
    """A processor on logic with a default delegate, an agent push client, a response counter."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    adder = Adder()
    processor = TupleActionProcessor(
        PROCESSOR, additionalFilt=FILT, defaultDelegate=adder, vortexFactory=logic
    )
    client = TupleActionPushClient(LOGIC, PROCESSOR, additionalFilt=FILT, vortexFactory=agent)
    return processor, adder, client, ResponseCounter(agent)


def action(offset: int = 1) -> AddIntValueActionTuple:
    """An action adding offset."""
    return AddIntValueActionTuple(stringIntId=1, offset=offset)


def test_delegate_result_is_the_response(direct):
    """The delegate's result tuples come back, once."""
    _, _, client, counter = direct
    assert settle(client.pushAction(action(5))) == [ResultTuple(total=5)]
    spinBriefly()
    assert counter.count == 1


def test_deferred_delegate_result_is_the_response(direct):
    """A delegate returning a Deferred answers when it fires."""
    _, adder, client, _ = direct
    adder.mode = "later"
    assert settle(client.pushAction(action(2))) == [ResultTuple(total=2)]


def test_delegate_returning_none_answers_with_no_tuples(vortexes):
    """A delegate returning None (as the manual's do) gives an empty success response."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)

    class Quiet(TupleActionProcessorDelegateABC):
        def processTupleAction(self, tupleAction):
            return None

    TupleActionProcessor(PROCESSOR, defaultDelegate=Quiet(), vortexFactory=logic)
    client = TupleActionPushClient(LOGIC, PROCESSOR, vortexFactory=agent)
    assert settle(client.pushAction(TupleGenericAction(key="click"))) == []


def test_per_type_delegate_wins_over_default(direct):
    """setDelegate routes that tuple type to its own delegate."""
    processor, adder, client, _ = direct

    class Echo(TupleActionProcessorDelegateABC):
        def processTupleAction(self, tupleAction):
            return [ResultTuple(total=tupleAction.data)]

    processor.setDelegate(TupleGenericAction.tupleName(), Echo())
    assert settle(client.pushAction(TupleGenericAction(key="k", data=9))) == [ResultTuple(total=9)]
    assert adder.total == 0


def test_no_delegate_gets_one_error_naming_the_type(vortexes):
    """Without a delegate for the type the response is a no-delegate error."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    TupleActionProcessor(PROCESSOR, vortexFactory=logic)
    client = TupleActionPushClient(LOGIC, PROCESSOR, vortexFactory=agent)
    counter = ResponseCounter(agent)
    with pytest.raises(TupleActionError) as info:
        settle(client.pushAction(action()))
    assert info.value.code == ERROR_NO_DELEGATE
    assert AddIntValueActionTuple.tupleName() in info.value.remoteMessage
    spinBriefly()
    assert counter.count == 1


def test_raising_delegate_gets_one_error_with_type_and_message(direct):
    """A delegate that raises yields an exception error with its type and message."""
    _, adder, client, counter = direct
    adder.mode = "raise"
    with pytest.raises(TupleActionError) as info:
        settle(client.pushAction(action()))
    assert info.value.code == ERROR_EXCEPTION
    assert info.value.remoteType == "NotImplementedError"
    assert AddIntValueActionTuple.tupleName() in info.value.remoteMessage
    spinBriefly()
    assert counter.count == 1


def test_slow_delegate_gets_one_timeout_error(vortexes):
    """A delegate that never finishes is answered with a timeout error, once."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    adder = Adder()
    adder.mode = "hang"
    TupleActionProcessor(PROCESSOR, defaultDelegate=adder, timeoutSeconds=0.1, vortexFactory=logic)
    client = TupleActionPushClient(LOGIC, PROCESSOR, vortexFactory=agent)
    counter = ResponseCounter(agent)
    with pytest.raises(TupleActionError) as info:
        settle(client.pushAction(action()))
    assert info.value.code == ERROR_TIMEOUT
    spinBriefly()
    assert counter.count == 1


def test_push_without_link_fails_at_once(vortexes):
    """pushAction to an unconnected vortex has already failed with NoVortexException."""
    lonely = vortexes.server(AGENT)
    failures: list = []
    client = TupleActionPushClient(LOGIC, PROCESSOR, vortexFactory=lonely)
    client.pushAction(action()).addErrback(failures.append)
    assert failures and failures[0].check(NoVortexException)


def test_push_client_times_out(vortexes):
    """A push that nobody answers fails with VortexTimeoutError after the client's timeout."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    client = TupleActionPushClient(LOGIC, PROCESSOR, timeoutSeconds=0.1, vortexFactory=agent)
    assert logic.isVortexNameConnected(AGENT)
    with pytest.raises(VortexTimeoutError):
        settle(client.pushAction(action()))


def test_accept_only_from_refuses_other_vortexes(vortexes):
    """A processor restricted to another service refuses the agent, naming it."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    TupleActionProcessor(
        PROCESSOR, defaultDelegate=Adder(), acceptOnlyFromVortex=FIELD, vortexFactory=logic
    )
    client = TupleActionPushClient(LOGIC, PROCESSOR, vortexFactory=agent)
    with pytest.raises(TupleActionError) as info:
        settle(client.pushAction(action()))
    assert info.value.code == ERROR_REFUSED
    assert AGENT in info.value.remoteMessage


def test_duplicate_delegate_is_an_error(direct):
    """Setting a second delegate for one tuple type raises."""
    processor, adder, _, _ = direct
    processor.setDelegate(AddIntValueActionTuple, adder)
    with pytest.raises(ValueError, match=AddIntValueActionTuple.tupleName()):
        processor.setDelegate(AddIntValueActionTuple.tupleName(), adder)


class ProxiedSite:
    """Logic processor, field proxy, and a device push client on the field."""

    def __init__(self, vortexes, proxyTimeout: float = 35.0) -> None:
        self.vortexes = vortexes
        self.logic = vortexes.server(LOGIC)
        self.adder = Adder()
        TupleActionProcessor(
            PROCESSOR, additionalFilt=FILT, defaultDelegate=self.adder, vortexFactory=self.logic
        )
        self.field = vortexes.server(FIELD)
        self.proxy = TupleActionProcessorProxy(
            PROCESSOR,
            LOGIC,
            additionalFilt=FILT,
            timeoutSeconds=proxyTimeout,
            vortexFactory=self.field,
        )
        vortexes.connect(self.field, LOGIC)
        self.deviceFactory = vortexes.client("device-1", FIELD, device=True)
        self.device = TupleActionPushClient(
            FIELD, PROCESSOR, additionalFilt=FILT, vortexFactory=self.deviceFactory
        )
        self.counter = ResponseCounter(self.deviceFactory)


def test_action_via_proxy_gets_the_delegate_result(vortexes):
    """A device push through the field proxy returns logic's result, once."""
    site = ProxiedSite(vortexes)
    assert settle(site.device.pushAction(action(3))) == [ResultTuple(total=3)]
    spinBriefly()
    assert site.counter.count == 1


def test_proxy_relays_errors_from_logic(vortexes):
    """An error answer from logic reaches the device unchanged."""
    site = ProxiedSite(vortexes)
    site.adder.mode = "raise"
    with pytest.raises(TupleActionError) as info:
        settle(site.device.pushAction(action()))
    assert info.value.remoteType == "NotImplementedError"


def test_proxy_with_upstream_down_answers_one_error(vortexes):
    """With logic unreachable the device gets exactly one not-connected error."""
    site = ProxiedSite(vortexes)
    vortexes.stopServer(site.logic)
    spinUntil(lambda: not site.field.isVortexNameConnected(LOGIC))
    with pytest.raises(TupleActionError) as info:
        settle(site.device.pushAction(action()))
    assert info.value.code == ERROR_NOT_CONNECTED
    spinBriefly()
    assert site.counter.count == 1


def test_proxy_answers_one_error_when_upstream_drops_mid_action(vortexes):
    """Logic going away while an action is outstanding gives one not-connected error."""
    site = ProxiedSite(vortexes)
    site.adder.mode = "hang"
    d = site.device.pushAction(action())
    spinUntil(lambda: site.proxy.outstandingCount() == 1)
    vortexes.stopServer(site.logic)
    with pytest.raises(TupleActionError) as info:
        settle(d)
    assert info.value.code == ERROR_NOT_CONNECTED
    spinBriefly()
    assert site.counter.count == 1


def test_proxy_times_out_with_one_error(vortexes):
    """When logic does not answer in time the device gets one timeout error."""
    site = ProxiedSite(vortexes, proxyTimeout=0.1)
    site.adder.mode = "hang"
    with pytest.raises(TupleActionError) as info:
        settle(site.device.pushAction(action()))
    assert info.value.code == ERROR_TIMEOUT
    spinBriefly()
    assert site.counter.count == 1


class Gate(TupleActionProcessorDelegateABC):
    """Counts its calls and answers each only when the test opens the gate."""

    def __init__(self) -> None:
        self.calls = 0
        self.waiting: list[defer.Deferred] = []

    def processTupleAction(self, tupleAction):
        self.calls += 1
        d = defer.Deferred()
        self.waiting.append(d)
        return d

    def open(self, total: int) -> None:
        for d in self.waiting:
            d.callback([ResultTuple(total=total)])
        self.waiting.clear()


def test_action_pushed_again_while_running_is_applied_once(vortexes):
    """A device re-sending an action (same uuid) before the first push was answered gets
    the first one's result for both pushes; the delegate runs once."""
    logic = vortexes.server(LOGIC)
    agent = vortexes.client(AGENT, LOGIC)
    gate = Gate()
    TupleActionProcessor(PROCESSOR, additionalFilt=FILT, defaultDelegate=gate, vortexFactory=logic)
    client = TupleActionPushClient(LOGIC, PROCESSOR, additionalFilt=FILT, vortexFactory=agent)
    counter = ResponseCounter(agent)
    same = action(3)
    first, second = client.pushAction(same), client.pushAction(same)
    spinUntil(lambda: gate.calls >= 1)
    spinBriefly()
    gate.open(3)
    assert settle(first) == settle(second) == [ResultTuple(total=3)]
    spinBriefly()
    assert (gate.calls, counter.count) == (1, 2)


def test_action_pushed_again_after_its_answer_is_not_applied_again(direct):
    """An action pushed again after it succeeded (its answer lost on the way) is answered
    with the same result and not given to the delegate a second time; a new action is."""
    _, adder, client, _ = direct
    same = action(5)
    assert settle(client.pushAction(same)) == [ResultTuple(total=5)]
    assert settle(client.pushAction(same)) == [ResultTuple(total=5)]
    assert adder.total == 5
    assert settle(client.pushAction(action(1))) == [ResultTuple(total=6)]


def test_failed_action_pushed_again_is_tried_again(direct):
    """A failed action is not remembered: pushing it again gives it to the delegate again."""
    _, adder, client, _ = direct
    same = action(4)
    adder.mode = "raise"
    with pytest.raises(TupleActionError):
        settle(client.pushAction(same))
    adder.mode = "now"
    assert settle(client.pushAction(same)) == [ResultTuple(total=4)]
