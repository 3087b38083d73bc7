"""DeviceLinkQuota: live subscriptions, actions and bytes a second of one device link."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from vortex.transport import DeviceLinkQuota, DeviceQuotaLimits
from vortex.TupleSelector import TupleSelector


def quota(clock: Clock, **limits) -> DeviceLinkQuota:
    """A quota on ``clock`` with generous limits except those given."""
    values = {"subscriptionsPerLink": 1000, "actionsPerSecond": 1000, "bytesPerSecond": 10**9}
    return DeviceLinkQuota(DeviceQuotaLimits(**(values | limits)), clock)


def subscribe(subId: str, key: str = "vortex.observable:obs", selector: str = "s") -> dict:
    return {
        "key": key,
        "op": "subscribe",
        "subId": subId,
        "plugin": "p",
        "tupleSelector": TupleSelector(selector, {}),
    }


def poll(subId: str, selector: str, key: str = "vortex.observable:obs") -> dict:
    return {"key": key, "op": "poll", "subId": subId, "tupleSelector": TupleSelector(selector, {})}


def unsubscribe(subId: str, key: str = "vortex.observable:obs") -> dict:
    return {"key": key, "op": "unsubscribe", "subId": subId}


ACTION = {"key": "vortex.action:proc", "msgId": "m1"}


@pytest.fixture
def clock() -> Clock:
    """A fake reactor clock half-way through second 100."""
    c = Clock()
    c.advance(100.5)
    return c


def test_a_subscription_past_the_limit_is_refused_naming_limit_and_subscription(clock):
    """With subscriptionsPerLink 2, two subscriptions are admitted and the third refused
    with a reason naming the limit, its value and the subscription asked for."""
    q = quota(clock, subscriptionsPerLink=2)
    assert q.admit(subscribe("s1"), 10) is None
    assert q.admit(subscribe("s2"), 10) is None
    assert q.admit(subscribe("s3"), 10) == (
        "subscriptionsPerDeviceLink (2) exceeded: subscribe 's3' to 'vortex.observable:obs': "
        "selector 3 (live, or left/polled in 30 s)"
    )


def test_subscriptions_do_not_expire_with_the_second(clock):
    """Subscriptions are live counts, not a rate: a new second frees no slot."""
    q = quota(clock, subscriptionsPerLink=1)
    assert q.admit(subscribe("s1"), 10) is None
    clock.advance(60)
    assert q.admit(subscribe("s2"), 10) is not None


def test_unsubscribe_frees_a_slot_only_after_the_proxys_hold(clock):
    """An unsubscribed selector still counts for 30 s (the field proxy keeps its upstream
    subscription that long), then its slot is free, once: the limit holds for the next."""
    q = quota(clock, subscriptionsPerLink=1)
    assert q.admit(subscribe("s1", selector="a"), 10) is None
    assert q.admit(unsubscribe("s1"), 10) is None
    assert q.admit(subscribe("s2", selector="b"), 10) is not None
    clock.advance(30)
    assert q.admit(subscribe("s2", selector="b"), 10) is None
    assert q.admit(subscribe("s3", selector="c"), 10) is not None


def test_subscribe_unsubscribe_churn_cannot_pass_the_limit(clock):
    """Subscribing and unsubscribing new selectors in a loop is refused at the limit (each
    would leave an upstream subscription behind on the proxy)."""
    q = quota(clock, subscriptionsPerLink=3)
    refused = None
    for n in range(10):
        refused = q.admit(subscribe(f"s{n}", selector=f"sel{n}"), 10)
        if refused is not None:
            break
        assert q.admit(unsubscribe(f"s{n}"), 10) is None
    assert n == 3 and refused is not None


def test_polls_of_new_selectors_count_and_repeat_polls_do_not(clock):
    """Each poll of a new selector takes a slot for 30 s (it reaches logic); polling the
    same selector again, or one the link subscribes to, takes none."""
    q = quota(clock, subscriptionsPerLink=2)
    assert q.admit(poll("p1", selector="a"), 10) is None
    for _ in range(5):
        assert q.admit(poll("p2", selector="a"), 10) is None
    assert q.admit(subscribe("s1", selector="b"), 10) is None
    assert q.admit(poll("p3", selector="c"), 10) is not None
    clock.advance(30)
    assert q.admit(poll("p3", selector="c"), 10) is None


def test_resubscribing_a_subId_to_another_selector_keeps_the_old_one_counted(clock):
    """Moving one subId across selectors leaves each former selector counted for 30 s."""
    q = quota(clock, subscriptionsPerLink=2)
    assert q.admit(subscribe("s1", selector="a"), 10) is None
    assert q.admit(subscribe("s1", selector="b"), 10) is None
    assert q.admit(subscribe("s2", selector="c"), 10) is not None


def test_unsubscribe_frees_only_the_same_key_and_subId(clock):
    """Unsubscribing the subId under another observable key, or an unknown subId, frees
    nothing."""
    q = quota(clock, subscriptionsPerLink=1)
    assert q.admit(subscribe("s1"), 10) is None
    assert q.admit(unsubscribe("s1", key="vortex.observable:other"), 10) is None
    assert q.admit(unsubscribe("nope"), 10) is None
    assert q.admit(subscribe("s2"), 10) is not None


def test_resubscribing_the_same_subId_counts_once(clock):
    """A repeated subscribe of one (key, subId) takes one slot; the same subId under
    another key is a distinct subscription."""
    q = quota(clock, subscriptionsPerLink=2)
    for _ in range(5):
        assert q.admit(subscribe("s1"), 10) is None
    assert q.admit(subscribe("s1", key="vortex.observable:other"), 10) is None
    assert q.admit(subscribe("s2"), 10) is not None


def test_actions_past_the_limit_in_one_second_are_refused(clock):
    """With actionsPerSecond 3 the fourth action within the second is refused, naming the
    limit, the count and the processor."""
    q = quota(clock, actionsPerSecond=3)
    for _ in range(3):
        assert q.admit(ACTION, 10) is None
    assert q.admit(ACTION, 10) == (
        "actionsPerDeviceLinkPerSecond (3) exceeded: action 4 within one second pushed to "
        "'vortex.action:proc'"
    )


def test_rpc_calls_count_as_actions(clock):
    """A device's RPC calls share the actions-per-second limit with its action pushes."""
    q = quota(clock, actionsPerSecond=2)
    call = {"key": "vortex.rpc.call:peek_plugin_x.api.add", "msgId": "m"}
    assert q.admit(call, 10) is None
    assert q.admit(ACTION, 10) is None
    reason = q.admit(call, 10)
    assert reason is not None and "actionsPerDeviceLinkPerSecond (2)" in reason


def test_the_action_window_is_the_whole_second(clock):
    """Actions at 100.5 s and 100.75 s share a window (refused past the limit); the count
    starts again at 101 s."""
    q = quota(clock, actionsPerSecond=2)
    assert q.admit(ACTION, 10) is None
    clock.advance(0.25)
    assert q.admit(ACTION, 10) is None
    assert q.admit(ACTION, 10) is not None

    q = quota(clock, actionsPerSecond=2)
    assert q.admit(ACTION, 10) is None
    assert q.admit(ACTION, 10) is None
    clock.advance(0.25)  # 101.0 s: a new second
    assert q.admit(ACTION, 10) is None
    assert q.admit(ACTION, 10) is None
    assert q.admit(ACTION, 10) is not None


def test_bytes_past_the_limit_in_one_second_are_refused(clock):
    """With bytesPerSecond 100, exactly 100 bytes in a second pass and one more byte is
    refused, naming the limit, the total and the last message's size."""
    q = quota(clock, bytesPerSecond=100)
    assert q.admit({"key": "anything"}, 60) is None
    assert q.admit({}, 40) is None
    assert q.admit({"key": "anything"}, 1) == (
        "bytesPerDeviceLinkPerSecond (100) exceeded: 101 bytes sent within one second "
        "(the last message 1 bytes)"
    )


def test_the_byte_window_resets_each_second(clock):
    """The byte count starts again in the next whole second."""
    q = quota(clock, bytesPerSecond=100)
    assert q.admit({}, 100) is None
    clock.advance(0.5)
    assert q.admit({}, 100) is None
    assert q.admit({}, 1) is not None


def test_one_message_larger_than_the_byte_limit_is_refused(clock):
    """A single message over bytesPerSecond breaks the limit on its own."""
    assert quota(clock, bytesPerSecond=100).admit(ACTION, 101) is not None


def test_every_message_counts_towards_bytes(clock):
    """Actions and subscribes count their bytes too, not only other messages."""
    q = quota(clock, bytesPerSecond=100)
    assert q.admit(ACTION, 50) is None
    assert q.admit(subscribe("s1"), 50) is None
    assert q.admit({"key": "rpc"}, 1) is not None


@pytest.mark.parametrize(
    "filt",
    [
        {"key": "vortex.action.response:proc", "msgId": "m"},
        {"key": "vortex.observable.data:obs", "op": "subscribe", "subId": "d"},
        {"key": "vortex.observable:obs", "op": "subscribe"},
        {"key": "vortex.observable:obs", "op": "subscribe", "subId": ["unhashable"]},
        {"key": "vortex.observable:obs", "op": "subscribe", "subId": 7},
        {"key": "peek_plugin_x.rpc.call", "op": "subscribe", "subId": "r"},
        {"key": "vortex.rpc.response:peek_plugin_x.add", "msgId": "m"},
        {"key": 42, "op": "subscribe", "subId": "n"},
        {"op": "subscribe", "subId": "none"},
    ],
)
def test_other_messages_count_towards_no_subscription_or_action(clock, filt):
    """Messages that are no action push, subscribe or poll (by key prefix, op and a string
    subId) use up neither limit: afterwards one action and one subscription still pass."""
    q = quota(clock, subscriptionsPerLink=1, actionsPerSecond=1)
    for n in range(5):
        assert q.admit({**filt, "n": n}, 10) is None
    assert q.admit(ACTION, 10) is None
    assert q.admit(subscribe("s1"), 10) is None


def test_reasons_name_the_config_key_and_quote_long_device_text_short(clock):
    """``keyPrefix`` leads the limit's name; a long device-chosen key is cut in the reason."""
    limits = DeviceQuotaLimits(subscriptionsPerLink=1, keyPrefix="httpServer.field.")
    q = DeviceLinkQuota(limits, clock)
    longKey = "vortex.observable:" + "x" * 500
    assert q.admit(subscribe("s1", key=longKey), 10) is None
    reason = q.admit(subscribe("s2", key=longKey), 10)
    assert reason is not None
    assert reason.startswith("httpServer.field.subscriptionsPerDeviceLink (1) exceeded")
    assert repr(longKey[:80]) + "..." in reason and len(reason) < 220


def test_defaults_are_the_documented_ones():
    """1000 subscriptions, 200 actions and 4 MiB a second, with no key prefix."""
    assert DeviceQuotaLimits() == DeviceQuotaLimits(1000, 200, 4 * 1024 * 1024, "")


@pytest.mark.parametrize("field", ["subscriptionsPerLink", "actionsPerSecond", "bytesPerSecond"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "5"])
def test_limits_that_are_no_positive_int_are_refused(field, value):
    """A zero, negative, fractional, boolean or text limit is a ValueError naming it."""
    with pytest.raises(ValueError, match=rf"DeviceQuotaLimits\.{field} must be an int >= 1"):
        DeviceQuotaLimits(**{field: value})
