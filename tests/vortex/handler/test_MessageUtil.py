"""PendingRequests' shared timeout timer and MsgIdFilt's spliced messages."""

import pytest
from twisted.internet import defer, task

from vortex.handler.MessageUtil import (
    MsgIdFilt,
    PendingRequests,
    VortexTimeoutError,
    makeMsg,
)


def test_requests_time_out_at_their_own_deadlines():
    """Each request fails with VortexTimeoutError at its own timeout, others stay pending."""
    clock = task.Clock()
    pending = PendingRequests(clock, "test")
    slow = pending.add("slow", 10.0)
    fast = pending.add("fast", 2.0)
    later = pending.add("later", 10.0)
    clock.advance(2.0)
    assert fast.called and isinstance(fast.result.value, VortexTimeoutError)
    fast.addErrback(lambda f: None)
    assert not slow.called and "slow" in pending
    clock.advance(8.0)
    for d in (slow, later):
        assert d.called
        d.addErrback(lambda f: f.trap(VortexTimeoutError))
    assert len(pending) == 0


def test_answered_requests_do_not_time_out():
    """A request resolved before its deadline keeps its value; the timer fails nothing else."""
    clock = task.Clock()
    pending = PendingRequests(clock, "test")
    first = pending.add("a", 5.0)
    second = pending.add("b", 5.0)
    assert pending.resolve("a", 1)
    clock.advance(5.0)
    assert first.result == 1
    assert isinstance(second.result.value, VortexTimeoutError)
    second.addErrback(lambda f: None)
    assert not pending.resolve("b", 2)


def test_timeout_message_names_where_and_timeout():
    """The timeout error says which request kind timed out and after how long."""
    clock = task.Clock()
    d = PendingRequests(clock, "RPC x.add").add("m", 3.0)
    clock.advance(3.0)
    with pytest.raises(VortexTimeoutError, match=r"RPC x\.add: no response within 3\.0 s"):
        d.result.raiseException()
    d.addErrback(lambda f: None)


def test_cancelled_request_is_forgotten():
    """Cancelling a request's Deferred fails it with CancelledError and drops the request."""
    clock = task.Clock()
    pending = PendingRequests(clock, "test")
    d = pending.add("m", 3.0)
    d.cancel()
    assert "m" not in pending
    d.addErrback(lambda f: f.trap(defer.CancelledError))
    clock.advance(3.0)


def test_fail_all_stops_the_timer():
    """failAll fails every request and leaves no timer scheduled."""
    clock = task.Clock()
    pending = PendingRequests(clock, "test")
    ds = [pending.add(str(i), 1.0 + i) for i in range(3)]
    pending.failAll(lambda: ConnectionError("gone"))
    for d in ds:
        d.addErrback(lambda f: f.trap(ConnectionError))
    assert clock.getDelayedCalls() == []


def test_many_settled_requests_do_not_accumulate():
    """Deadlines of answered requests are dropped, so memory follows what is pending."""
    pending = PendingRequests(task.Clock(), "test")
    for i in range(10_000):
        pending.add(str(i), 30.0)
        pending.resolve(str(i), i)
    assert len(pending._deadlines) < 200


@pytest.mark.parametrize(
    "items",
    [{"key": "k"}, {}, {"key": "k", "n": 2**60}, {"key": "k", "~odd": 1}, {"msgId": "x"}],
)
def test_msg_id_filt_gives_the_bytes_of_make_msg(items):
    """MsgIdFilt.msg equals makeMsg on the filt with that msgId, whatever the items."""
    template = MsgIdFilt(items)
    assert template.msg('id"1', [[1, 2], {}]) == makeMsg(template.filt('id"1'), [[1, 2], {}])
