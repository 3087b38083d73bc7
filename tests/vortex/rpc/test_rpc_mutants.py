"""vortexRPC behaviours that mutation testing found unasserted (docs/dev/mutation-testing.rst):
local calls, the counts in ``factory.stats``, the error a local failure gives, plain calls."""

from __future__ import annotations

import threading

import pytest
from linkedvortexes import AGENT, FIELD, LOGIC, settle, spinUntil
from twisted.internet import defer, reactor
from twisted.python.threadpool import ThreadPool

from vortex.handler.MessageUtil import (
    ERROR_BAD_REQUEST,
    ERROR_EXCEPTION,
    ERROR_FORBIDDEN,
    ERROR_REFUSED,
    decodeTuples,
    isErrorResult,
    makeMsg,
)
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import RequestIdentity
from vortex.rpc.RPC import VortexRPCError, vortexRPC
from vortex.VortexFactory import NoVortexException, VortexFactory


class OwnPoolReactor:
    """The global reactor with a thread pool of its own, started and stopped by the test (the
    global reactor's pool cannot be started again once a test has stopped it)."""

    def __init__(self) -> None:
        self.pool = ThreadPool(minthreads=1, maxthreads=1, name="test_rpc_mutants")

    def getThreadPool(self) -> ThreadPool:
        return self.pool

    def __getattr__(self, name):
        return getattr(reactor, name)


def test_local_failure_is_an_rpc_error_naming_the_rpc_and_its_cause(vortexes):
    """A local call that raises fails with VortexRPCError: code ``exception``, the raised type
    and text, the RPC's name as where, and the raised exception as its cause."""
    logic = vortexes.server(LOGIC)

    @vortexRPC(LOGIC)
    def refuse(value):
        raise LookupError(f"no row {value}")

    refuse.start(vortexFactory=logic)
    with pytest.raises(VortexRPCError) as info:
        settle(refuse.using(logic)(7))
    error = info.value
    assert error.code == ERROR_EXCEPTION
    assert error.remoteType == "LookupError"
    assert error.remoteMessage == "no row 7"
    assert error.where == refuse.rpcName
    assert isinstance(error.__cause__, LookupError)


def test_local_calls_are_counted_as_served_here(vortexes):
    """Each local call counts once in the served counts, a failed one also as an error."""
    logic = vortexes.server(LOGIC)

    @vortexRPC(LOGIC)
    def half(value):
        if value % 2:
            raise ValueError("odd")
        return value // 2

    half.start(vortexFactory=logic)
    counts = logic.stats.rpcServed[half.rpcName]
    assert settle(half.using(logic)(8)) == 4
    assert (counts.calls, counts.errors, counts.finished) == (1, 0, 1)
    with pytest.raises(VortexRPCError):
        settle(half.using(logic)(3))
    assert (counts.calls, counts.errors, counts.finished) == (2, 1, 2)
    assert half.rpcName not in logic.stats.rpcCalled


def test_local_call_of_a_method_rpc_gets_its_instance(vortexes):
    """A method RPC started with funcSelf, called in its own process, runs on that instance."""
    logic = vortexes.server(LOGIC)

    class Adder:
        def __init__(self, offset: int) -> None:
            self.offset = offset

        @vortexRPC(LOGIC)
        def add(self, value):
            return value + self.offset

    adder = Adder(100)
    Adder.add.start(funcSelf=adder, vortexFactory=logic)
    assert settle(Adder.add.using(logic)(5)) == 105


def test_local_call_defers_to_a_pool_thread(vortexes):
    """deferToThread=True also applies to a call made in the listening process: it runs in
    a thread of the listening factory's reactor pool."""
    ownReactor = OwnPoolReactor()
    logic = VortexFactory(LOGIC, reactor=ownReactor)
    vortexes.factories.append(logic)

    @vortexRPC(LOGIC, deferToThread=True)
    def whichThread(tag, suffix=""):
        return tag + suffix, threading.current_thread().name

    whichThread.start(vortexFactory=logic)
    ownReactor.pool.start()
    try:
        tag, threadName = settle(whichThread.using(logic)("t", suffix="-kw"))
    finally:
        ownReactor.pool.stop()
    assert tag == "t-kw"
    assert threadName.startswith("PoolThread-test_rpc_mutants-")


def test_plain_call_goes_through_the_decorator_given_factory(vortexes):
    """Calling the RPC object itself uses the factory given to the decorator."""
    logic = vortexes.server(LOGIC)

    @vortexRPC(LOGIC, vortexFactory=logic)
    def double(value, times=2):
        return value * times

    double.start()
    assert settle(double(21)) == 42
    assert settle(double(5, times=3)) == 15


def test_served_counts_record_outcome_and_latency(logicAgent):
    """A call from another service counts once in the listener's served counts, a failed
    one as an error; an immediate answer is not counted in the slowest latency bucket."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC)
    def check(value):
        if value < 0:
            raise ValueError("negative")
        return value

    check.start(vortexFactory=logic)
    served = logic.stats.rpcServed[check.rpcName]
    assert settle(check.using(agent)(3)) == 3
    assert (served.calls, served.errors, served.finished) == (1, 0, 1)
    with pytest.raises(VortexRPCError):
        settle(check.using(agent)(-1))
    assert (served.calls, served.errors, served.finished) == (2, 1, 2)
    assert served.buckets[-1] == 0
    assert served.seconds < 3600


def test_pending_call_failure_names_the_lost_link(logicAgent, vortexes):
    """A call pending when the link drops fails with a message naming the RPC and the link."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC)
    def hang():
        return defer.Deferred()

    hang.start(vortexFactory=logic)
    d = hang.using(agent)()
    spinUntil(lambda: logic.stats.rpcServed[hang.rpcName].calls == 1)
    vortexes.drop(agent, LOGIC)
    with pytest.raises(NoVortexException) as info:
        settle(d)
    assert f"RPC {hang.rpcName}: link to {LOGIC!r} lost" in str(info.value)


def test_call_with_extra_filt_items_gets_its_value(logicAgent):
    """A call whose filt carries items beyond the RPC's (a foreign caller's trace id) is
    answered with the function's value, not an error."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC)
    def triple(a):
        return a * 3

    triple.start(vortexFactory=logic)
    responses = []
    PayloadEndpoint(
        {"key": triple._responseKey},
        lambda envelope, **kw: responses.append(envelope),
        payloadIO=agent.payloadIO,
    )
    call = {**triple._callFilt, "msgId": "foreign:2", "trace": "t-2"}
    agent.sendVortexMsg(makeMsg(call, [[4], {}]), destVortexName=LOGIC)
    spinUntil(lambda: responses)
    assert not isErrorResult(responses[0].result)
    assert decodeTuples(responses[0]) == [12]


def rawCall(logic, agent, rpc, filt: dict, tuples: list, identity=None) -> PayloadEnvelope:
    """Send a hand-made call message for rpc from agent and return the response envelope."""
    responses: list = []
    endpoint = PayloadEndpoint(
        {"key": rpc._responseKey},
        lambda envelope, **kw: responses.append(envelope),
        payloadIO=agent.payloadIO,
    )
    agent.sendVortexMsg(makeMsg(filt, tuples, identity), destVortexName=LOGIC)
    spinUntil(lambda: responses)
    endpoint.shutdown()
    return responses[0]


def test_call_without_msg_id_is_a_bad_request(logicAgent):
    """A call without msgId is answered with a bad-request ValueError naming the RPC."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC)
    def noop():
        return None

    noop.start(vortexFactory=logic)
    response = rawCall(logic, agent, noop, dict(noop._callFilt), [[], {}])
    assert response.result == {
        "error": ERROR_BAD_REQUEST,
        "type": "ValueError",
        "message": f"RPC {noop.rpcName}: missing msgId",
    }


@pytest.mark.parametrize("tuples", [[{"a": 1}, {}], [[1], [2]]])
def test_call_body_not_args_and_kwargs_is_a_bad_request(logicAgent, tuples):
    """Call tuples other than [args list, kwargs dict] are a bad request naming the shape,
    and the function does not run."""
    logic, agent = logicAgent
    ran: list = []

    @vortexRPC(LOGIC)
    def record(*args, **kwargs):
        ran.append((args, kwargs))

    record.start(vortexFactory=logic)
    filt = {**record._callFilt, "msgId": "foreign:3"}
    response = rawCall(logic, agent, record, filt, tuples)
    assert response.result["error"] == ERROR_BAD_REQUEST
    assert response.result["type"] == "ValueError"
    assert response.result["message"] == (
        f"RPC {record.rpcName}: bad call body: tuples must be [args list, kwargs dict]"
    )
    assert ran == []


def test_refusals_are_permission_errors(vortexes):
    """A call from a service acceptOnlyFromVortex does not name, and a call for a user
    without the required permission, both fail as PermissionError naming the RPC."""
    logic = vortexes.server(LOGIC)
    field = vortexes.client(FIELD, LOGIC)

    @vortexRPC(LOGIC, acceptOnlyFromVortex=AGENT)
    def agentsOnly():
        return 1

    @vortexRPC(LOGIC, requiredPermissions="tests.edit")
    def editorsOnly():
        return 2

    agentsOnly.start(vortexFactory=logic)
    editorsOnly.start(vortexFactory=logic)
    with pytest.raises(VortexRPCError) as refused:
        settle(agentsOnly.using(field)())
    assert refused.value.code == ERROR_REFUSED
    assert refused.value.remoteType == "PermissionError"
    assert refused.value.where == agentsOnly.rpcName

    reader = RequestIdentity("local:r", "reader", None, "field", frozenset())
    filt = {**editorsOnly._callFilt, "msgId": "foreign:4"}
    response = rawCall(logic, field, editorsOnly, filt, [[], {}], identity=reader)
    assert response.result["error"] == ERROR_FORBIDDEN
    assert response.result["type"] == "PermissionError"
    assert response.result["message"].startswith(f"RPC {editorsOnly.rpcName}")


@pytest.fixture
def freshPool(monkeypatch):
    """A running thread pool as the global reactor's (a stopped pool cannot restart)."""
    pool = ThreadPool(minthreads=0, maxthreads=2, name="test_rpc_mutants-remote")
    pool.start()
    monkeypatch.setattr(reactor, "threadpool", pool)
    yield pool
    pool.stop()


def test_threaded_method_rpc_called_remotely(logicAgent, freshPool):
    """A deferToThread method RPC called from another service runs on its instance in a
    pool thread, and a raise there comes back as the caller's VortexRPCError."""
    logic, agent = logicAgent

    class Scaler:
        def __init__(self, factor: int) -> None:
            self.factor = factor

        @vortexRPC(LOGIC, deferToThread=True)
        def scale(self, value):
            if value < 0:
                raise ArithmeticError(f"negative {value}")
            return [value * self.factor, threading.current_thread().name]

    scaler = Scaler(10)
    Scaler.scale.start(funcSelf=scaler, vortexFactory=logic)
    value, threadName = settle(Scaler.scale.using(agent)(4))
    assert value == 40
    assert threadName.startswith("PoolThread-test_rpc_mutants-remote")
    with pytest.raises(VortexRPCError) as info:
        settle(Scaler.scale.using(agent)(-1))
    assert info.value.code == ERROR_EXCEPTION
    assert info.value.remoteType == "ArithmeticError"
    assert info.value.where == Scaler.scale.rpcName


def test_undecodable_response_fails_the_call_at_once(logicAgent):
    """A response without the value tuple fails its call with that error, not a timeout."""
    logic, agent = logicAgent

    @vortexRPC(LOGIC, timeoutSeconds=60)
    def answered():
        return 1

    def answerWithNothing(envelope, sendResponse, **_):
        sendResponse(makeMsg({**envelope.filt, "key": answered._responseKey}, []))

    PayloadEndpoint(answered._callFilt, answerWithNothing, payloadIO=logic.payloadIO)
    with pytest.raises(IndexError):
        settle(answered.using(agent)(), timeout=30)


def test_caller_counts_and_fast_failures(vortexes):
    """Calls made from a factory count in its called counts: a call to an unlinked vortex, or
    to an RPC not started in the listening process itself, fails at once as an error naming
    why, counted without latency; an answered call counts as a success."""
    logic = vortexes.server(LOGIC)
    lonely = vortexes.server(AGENT)

    @vortexRPC(LOGIC)
    def echo(value):
        return value

    counted = lonely.stats.rpcCounts(echo.rpcName, served=False)
    with pytest.raises(NoVortexException) as unlinked:
        settle(echo.using(lonely)(1))
    assert f"vortex {LOGIC!r} is not connected to {AGENT!r}" in str(unlinked.value)
    assert (counted.calls, counted.errors, counted.buckets[0]) == (1, 1, 1)

    notStarted = logic.stats.rpcCounts(echo.rpcName, served=False)
    with pytest.raises(NoVortexException) as local:
        settle(echo.using(logic)(2))
    assert f"is not started in this vortex {LOGIC!r}" in str(local.value)
    assert (notStarted.calls, notStarted.errors, notStarted.buckets[0]) == (1, 1, 1)

    agent = vortexes.client(FIELD, LOGIC)
    echo.start(vortexFactory=logic)
    assert settle(echo.using(agent)(3)) == 3
    assert settle(echo.using(agent)(4)) == 4
    called = agent.stats.rpcCalled[echo.rpcName]
    assert (called.calls, called.errors, called.finished) == (2, 0, 2)
    assert called.buckets[-1] == 0
