"""vortexRPC between linked factories over loopback websockets."""

from __future__ import annotations

import threading

import pytest
from linkedvortexes import AGENT, FIELD, LOGIC, settle, spinUntil
from twisted.internet import defer, reactor, task
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_EXCEPTION,
    ERROR_REFUSED,
    VortexTimeoutError,
    makeMsg,
)
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.rpc.RPC import RPCAlreadyStartedError, VortexRPCError, vortexRPC
from vortex.Tuple import Tuple, TupleField, addTupleType
from vortex.VortexFactory import NoVortexException, VortexFactory


@addTupleType
class RpcPoint(Tuple):
    """A small tuple passed through RPCs."""

    __tupleType__ = "tests.rpc.RpcPoint"
    x = TupleField()
    y = TupleField()


def test_agent_calls_logic_with_tuples_and_kwargs(logicAgent):
    """Arguments and results, tuples and keyword arguments included, cross the link."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC, additionalFilt={"plugin": "tests"})
    def shift(point, dx=0):
        return RpcPoint(x=point.x + dx, y=point.y)

    shift.start(vortexFactory=logic)
    result = settle(shift.using(agent)(RpcPoint(x=1, y=2), dx=10))
    assert result == RpcPoint(x=11, y=2)


def test_logic_calls_a_method_registered_on_the_agent(logicAgent):
    """A method RPC started with funcSelf on the agent is called from logic without self."""
    logic, agent = logicAgent

    class RpcForServer:
        def __init__(self, offset):
            self.offset = offset

        @vortexRPC(AGENT)
        def subInts(self, val1, kwval1=9):
            return val1 - kwval1 + self.offset

    handler = RpcForServer(100)
    assert handler.subInts.start(funcSelf=handler, vortexFactory=agent) is RpcForServer.subInts
    assert settle(RpcForServer.subInts.using(logic)(7, kwval1=5)) == 102


def test_remote_exception_arrives_with_type_and_message(logicAgent):
    """A remote raise fails the call with VortexRPCError naming the remote type and text."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC)
    def explode():
        raise KeyError("no such row 42")

    explode.start(vortexFactory=logic)
    with pytest.raises(VortexRPCError) as info:
        settle(explode.using(agent)())
    assert info.value.code == ERROR_EXCEPTION
    assert info.value.remoteType == "KeyError"
    assert "no such row 42" in info.value.remoteMessage


def test_call_times_out(logicAgent):
    """A call whose function never finishes fails with a timeout error."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC, timeoutSeconds=0.2)
    def hang():
        return defer.Deferred()

    hang.start(vortexFactory=logic)
    with pytest.raises(VortexTimeoutError):
        settle(hang.using(agent)())


class ClockedReactor:
    """The global reactor for sockets and threads, with a task.Clock for every timer."""

    def __init__(self, clock: task.Clock) -> None:
        self._clock = clock

    def seconds(self) -> float:
        return self._clock.seconds()

    def callLater(self, delay, callable, *args, **kwargs):
        return self._clock.callLater(delay, callable, *args, **kwargs)

    def getDelayedCalls(self):
        return self._clock.getDelayedCalls()

    def __getattr__(self, name):
        return getattr(reactor, name)


def test_call_times_out_at_its_own_deadline(vortexes):
    """An unanswered call fails with a timeout naming its timeoutSeconds exactly when that
    much time has passed on the caller's reactor clock, not before and not later."""
    clock = task.Clock()
    logic = vortexes.server(LOGIC)
    agent = VortexFactory(AGENT, reactor=ClockedReactor(clock))
    vortexes.factories.append(agent)
    vortexes.connect(agent, LOGIC)
    calls: list = []

    @vortexRPC(LOGIC, timeoutSeconds=5)
    def hang():
        calls.append(1)
        return defer.Deferred()

    hang.start(vortexFactory=logic)
    results: list = []
    hang.using(agent)().addBoth(results.append)
    spinUntil(lambda: calls)
    clock.advance(4.99)
    assert results == []
    clock.advance(0.01)
    assert len(results) == 1
    assert results[0].check(VortexTimeoutError)
    assert "within 5 s" in results[0].getErrorMessage()


def test_call_to_unconnected_vortex_fails_at_once(vortexes):
    """Without a link to the listening vortex the Deferred has already failed."""
    lonely = vortexes.server(AGENT)

    @vortexRPC(LOGIC)
    def anything():
        return 1

    d = anything.using(lonely)()
    failures = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(NoVortexException)


def test_pending_call_fails_when_the_link_drops(logicAgent, vortexes):
    """Calls outstanding when the link to the listening vortex drops fail with NoVortexException."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC)
    def hang():
        return defer.Deferred()

    hang.start(vortexFactory=logic)
    d = hang.using(agent)()
    spinUntil(lambda: logic.payloadIO.endpointCount() > 0)
    vortexes.drop(agent, LOGIC)
    with pytest.raises(NoVortexException):
        settle(d)


def test_accept_only_from_refuses_another_service(vortexes):
    """acceptOnlyFromVortex refuses a different authenticated service, naming it."""
    logic = vortexes.server(LOGIC)
    field = vortexes.client(FIELD, LOGIC)

    @vortexRPC(LOGIC, acceptOnlyFromVortex=AGENT)
    def secret():
        return "treasure"

    secret.start(vortexFactory=logic)
    with pytest.raises(VortexRPCError) as info:
        settle(secret.using(field)())
    assert info.value.code == ERROR_REFUSED
    assert FIELD in info.value.remoteMessage


def test_accept_only_from_refuses_a_device_using_the_service_name(vortexes):
    """A device announcing the allowed service's name is still refused (device: identity)."""
    logic = vortexes.server(LOGIC)
    impostor = vortexes.client(AGENT, LOGIC, device=True)

    @vortexRPC(LOGIC, acceptOnlyFromVortex=[AGENT])
    def secret():
        return "treasure"

    secret.start(vortexFactory=logic)
    with pytest.raises(VortexRPCError) as info:
        settle(secret.using(impostor)())
    assert info.value.code == ERROR_REFUSED
    assert f"device:{AGENT}" in info.value.remoteMessage


def test_accept_only_from_admits_the_named_service(logicAgent):
    """The service named in acceptOnlyFromVortex gets its answer."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC, acceptOnlyFromVortex=AGENT)
    def secret():
        return "treasure"

    secret.start(vortexFactory=logic)
    assert settle(secret.using(agent)()) == "treasure"


def test_starting_twice_is_an_error(vortexes):
    """Registering the same RPC a second time raises."""
    logic = vortexes.server(LOGIC)

    @vortexRPC(LOGIC)
    def once():
        return 1

    once.start(vortexFactory=logic)
    with pytest.raises(RPCAlreadyStartedError):
        once.start(vortexFactory=logic)


def test_starting_in_another_vortex_is_an_error(vortexes):
    """start() in a process that is not the listening vortex raises, naming both."""
    agent = vortexes.server(AGENT)

    @vortexRPC(LOGIC)
    def misplaced():
        return 1

    with pytest.raises(ValueError, match=AGENT):
        misplaced.start(vortexFactory=agent)


def test_local_call_runs_without_a_link(vortexes):
    """A call made in the listening process runs locally, errors wrapped as VortexRPCError."""
    logic = vortexes.server(LOGIC)

    @vortexRPC(LOGIC)
    def half(value):
        if value % 2:
            raise ValueError("odd")
        return value // 2

    half.start(vortexFactory=logic)
    assert settle(half.using(logic)(8)) == 4
    with pytest.raises(VortexRPCError, match="odd"):
        settle(half.using(logic)(3))


def test_shutdown_unregisters(logicAgent):
    """After shutdown() the RPC no longer answers and can be started again."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC, timeoutSeconds=0.2)
    def ping():
        return "pong"

    ping.start(vortexFactory=logic)
    ping.shutdown()
    with pytest.raises(VortexTimeoutError):
        settle(ping.using(agent)())
    ping.start(vortexFactory=logic)
    assert settle(ping.using(agent)()) == "pong"


def test_defer_to_thread_runs_off_the_reactor_thread(logicAgent, reactorThreads):
    """deferToThread=True runs the function in a pool thread and returns its result."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC, deferToThread=True)
    def whichThread():
        return threading.current_thread() is threading.main_thread()

    whichThread.start(vortexFactory=logic)
    assert settle(whichThread.using(agent)()) is False


@pytest.mark.parametrize(
    "kind", ["value", "deferred", "coroutine", "failure", "unencodable", "deferred-raise"]
)
def test_every_kind_of_function_result_is_answered(logicAgent, kind):
    """Plain values, Deferreds, coroutines and failures (returned or raised later) all answer."""
    logic, agent = logicAgent

    async def later(a):
        return a * 3

    results = {
        "value": lambda a: a + 1,
        "deferred": lambda a: defer.succeed(a + 2),
        "coroutine": later,
        "failure": lambda a: Failure(ValueError(f"bad {a}")),
        "unencodable": lambda a: object(),
        "deferred-raise": lambda a: defer.fail(LookupError(f"none {a}")),
    }

    @vortexRPC(LOGIC, additionalFilt={"plugin": "tests", "kind": kind})
    def run(a):
        return results[kind](a)

    run.start(vortexFactory=logic)
    d = run.using(agent)(5)
    if kind in ("value", "deferred", "coroutine"):
        assert settle(d) == {"value": 6, "deferred": 7, "coroutine": 15}[kind]
        return
    with pytest.raises(VortexRPCError) as info:
        settle(d)
    expected = {"failure": "ValueError", "unencodable": "VortexEncodeError"}
    assert info.value.remoteType == expected.get(kind, "LookupError")


def test_call_filt_with_extra_items_is_echoed_in_the_response(logicAgent):
    """A caller's extra filt items come back in the response filt, with the response key."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC)
    def echo(a):
        return a

    echo.start(vortexFactory=logic)
    responses = []
    PayloadEndpoint(
        {"key": echo._responseKey},
        lambda envelope, **kw: responses.append(envelope.filt),
        payloadIO=agent.payloadIO,
    )
    call = {**echo._callFilt, "msgId": "foreign:1", "trace": "t-1"}
    agent.sendVortexMsg(makeMsg(call, [[4], {}]), destVortexName=LOGIC)
    spinUntil(lambda: responses)
    assert responses == [{**call, "key": echo._responseKey}]
