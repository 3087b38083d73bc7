"""RPC, observables and tuple actions across real logic, field, office and agent processes.

The messaging test plugin (``plugins/peek_plugin_msgtest``) runs on every service; the
driver process holds the vortex links the tests act through: ``msgtest-driver`` (a service
peer of logic, the only caller logic's driver RPCs accept) and device links to the field and
office sites' ``/vortexws``. Tests that stop or kill a service restart it before returning.
"""

from __future__ import annotations

from typing import Any

import pytest

from peek_platform.services import FIELD as FIELD_SPEC

pytestmark = pytest.mark.integration

DRIVER = "msgtest-driver"
FIELD_NAME = "peek-field-service"
OFFICE_NAME = "peek-office-service"
#: The proxied processor on field/office, and the one that runs in field/office itself.
PROCESSOR = "peek_plugin_msgtest"
LOCAL_PROCESSOR = "peek_plugin_msgtest.local"
VALUE_TUPLE = "peek_plugin_msgtest.MsgTestValueTuple"
#: An RPC's name is its module plus qualified name (docs/vortex/messaging.rst).
COUNT_CALL_RPC = "peek_plugin_msgtest._private.logic.LogicRpc.LogicRpc.countCall"


def valueTuple(board: str, value: int, text: str) -> dict:
    """A MsgTestValueTuple as the driver takes it."""
    return {"_type": VALUE_TUPLE, "board": board, "value": value, "text": text}


def action(name: str, **fields: Any) -> dict:
    """An action tuple of the test plugin as the driver takes it."""
    return {"_type": f"peek_plugin_msgtest.{name}", **fields}


def driverRpc(driver: Any, name: str, *args: Any) -> Any:
    """Call logic's driver RPC ``name`` from the driver link; its return value."""
    outcome = driver.call(
        "rpc",
        link=DRIVER,
        module="peek_plugin_msgtest._private.logic.DriverRpc",
        qualname=f"DriverRpc.{name}",
        args=list(args),
        kwargs={},
    )
    assert outcome["errorClass"] is None, outcome
    return outcome["value"]


def logicCallsAgent(driver: Any, rpcName: str, *args: Any, **kwargs: Any) -> dict:
    """The outcome of logic calling the agent RPC ``rpcName``."""
    return driverRpc(driver, "callAgent", rpcName, list(args), kwargs)


def agentCallsLogic(driver: Any, rpcName: str, *args: Any, **kwargs: Any) -> dict:
    """The outcome of the agent calling the logic RPC ``rpcName`` (logic asks the agent to)."""
    outcome = logicCallsAgent(driver, "callLogic", rpcName, list(args), kwargs)
    assert outcome["errorClass"] is None, outcome
    return outcome["value"]


def connectDevices(driver: Any, msgPlatform: Any, names: list[str], site: str = "field") -> None:
    """Connect devices (no secret) to the field or office site's /vortexws."""
    dest = FIELD_NAME if site == "field" else OFFICE_NAME
    driver.call("devices", names=names, url=msgPlatform.deviceUrl(site), dest=dest)


def latestValue(driver: Any, device: str, board: str) -> dict | None:
    """The single tuple of the device's latest update for the board, or None."""
    updates = driver.call("updates", link=device, board=board)
    if not updates:
        return None
    assert isinstance(updates[-1], list) and len(updates[-1]) == 1, updates
    return updates[-1][0]


def pushOnce(driver: Any, device: str, processor: str, tupleAction: dict) -> tuple[dict, list]:
    """Push an action, then the same action again as a marker; return the first outcome and
    the responses per msgId (first push, marker) once the marker's response has arrived.

    Both travel the same links in order, so a second response to the first push, sent as
    it was handled, would have arrived before the marker's: a count of 1 then means one.
    """
    outcome = driver.call("push", link=device, processor=processor, action=tupleAction)
    marker = driver.call("push", link=device, processor=processor, action=tupleAction)
    assert (marker["errorClass"], marker.get("code")) == (
        outcome["errorClass"],
        outcome.get("code"),
    ), (outcome, marker)
    counts = driver.call("responseCounts", link=device, processor=processor)
    assert len(counts) == 2, counts
    return outcome, list(counts.values())


# ---- RPC --------------------------------------------------------------------------------


def test_logic_calls_agent_rpc_with_ints_and_a_tuple(driver):
    """Logic calls RPCs listening on the agent: ints with a keyword, a registered tuple."""
    assert logicCallsAgent(driver, "subInts", 7, kwval1=5)["value"] == 2
    echoed = logicCallsAgent(driver, "echoTuple", valueTuple("b1", 21, "abc"))["value"]
    assert echoed["_type"] == VALUE_TUPLE
    assert (echoed["board"], echoed["value"], echoed["text"]) == ("b1", 42, "cba")


def test_agent_calls_logic_rpc_with_ints_and_a_tuple(driver, msgPlatform):
    """The agent calls RPCs listening on logic: ints, and a tuple logic stamps with its pid."""
    assert agentCallsLogic(driver, "addInts", 5, kwval1=7)["value"] == 12
    echoed = agentCallsLogic(driver, "echoTuple", valueTuple("b2", 10, "abc"))["value"]
    assert echoed["_type"] == VALUE_TUPLE
    assert (echoed["value"], echoed["text"]) == (11, "ABC")
    assert echoed["logicPid"] == msgPlatform.commands["logic"].pid


def test_agent_exception_reaches_logic_with_type_and_message(driver, msgPlatform):
    """An exception raised in the agent's RPC fails logic's call with its type and message."""
    outcome = logicCallsAgent(driver, "fail", "agent says no")
    assert outcome["errorClass"] == "VortexRPCError"
    assert outcome["code"] == "exception"
    assert outcome["remoteType"] == "MsgTestError"
    agentPid = msgPlatform.commands["agent"].pid
    assert outcome["remoteMessage"] == f"agent says no (agent pid {agentPid})"


def test_logic_exception_reaches_agent_with_type_and_message(driver):
    """An exception raised in logic's RPC fails the agent's call with its type and message."""
    outcome = agentCallsLogic(driver, "fail", "logic says no")
    assert outcome["errorClass"] == "VortexRPCError"
    assert (outcome["code"], outcome["remoteType"]) == ("exception", "MsgTestError")
    assert outcome["remoteMessage"] == "logic says no"


def test_rpc_times_out_in_both_directions(driver):
    """An RPC answering after its 1 s timeout fails with VortexTimeoutError, either way."""
    toAgent = logicCallsAgent(driver, "slow", 1.5)
    toLogic = agentCallsLogic(driver, "slow", 1.5)
    for outcome in (toAgent, toLogic):
        assert outcome["errorClass"] == "VortexTimeoutError", outcome
        assert outcome["settledAtOnce"] is False


def test_logic_rpc_refuses_field_when_it_accepts_only_the_agent(driver, msgPlatform):
    """Field calling logic's agent-only addInts is refused naming field; an open RPC works."""
    connectDevices(driver, msgPlatform, ["refuse-dev"])
    refused = driver.call(
        "push",
        link="refuse-dev",
        processor=LOCAL_PROCESSOR,
        action=action("MsgTestCallLogicAction", rpcName="addInts", args=[1], kwargs={"kwval1": 2}),
    )
    [outcome] = refused["value"]
    assert outcome["errorClass"] == "VortexRPCError"
    assert (outcome["code"], outcome["remoteType"]) == ("refused", "PermissionError")
    assert "peek-field-service" in outcome["remoteMessage"]

    allowed = driver.call(
        "push",
        link="refuse-dev",
        processor=LOCAL_PROCESSOR,
        action=action("MsgTestCallLogicAction", rpcName="countCall", args=["from-field"]),
    )
    [outcome] = allowed["value"]
    assert outcome["errorClass"] is None, outcome
    assert "from-field" in driverRpc(driver, "counters", "none")["countedCalls"]
    counts = driver.call("responseCounts", link="refuse-dev", processor=LOCAL_PROCESSOR)
    assert list(counts.values()) == [1, 1]


def test_device_cannot_call_a_logic_rpc(driver, msgPlatform):
    """A device on field can't reach logic's RPC: the API fails at once, a hand-made call
    sent over its link is never answered and never runs on logic."""
    connectDevices(driver, msgPlatform, ["rpc-dev"])
    viaApi = driver.call(
        "rpc",
        link="rpc-dev",
        module="peek_plugin_msgtest._private.logic.LogicRpc",
        qualname="LogicRpc.countCall",
        args=["from-device-api"],
        kwargs={},
    )
    assert viaApi["errorClass"] == "NoVortexException"
    assert viaApi["settledAtOnce"] is True

    responseKey = "vortex.rpc.response:" + COUNT_CALL_RPC
    driver.call("listen", link="rpc-dev", key=responseKey)
    driver.call(
        "send",
        link="rpc-dev",
        filt={
            "plugin": "peek_plugin_msgtest",
            "key": "vortex.rpc.call:" + COUNT_CALL_RPC,
            "msgId": "device-call-1",
        },
        tuples=[["from-device-raw"], {}],
    )
    # A marker on the same link: field handles its device's messages in order and would
    # have forwarded the call to logic ahead of the marker, so once the marker's answer is
    # back, any answer to the call would be too, and logic would have counted it.
    marker = driver.call(
        "push",
        link="rpc-dev",
        processor=PROCESSOR,
        action=action("MsgTestSetValueAction", board="rpc-marker", value=1),
    )
    assert marker["errorClass"] is None, marker
    assert driver.call("received", link="rpc-dev", key=responseKey) == 0
    counted = driverRpc(driver, "counters", "none")["countedCalls"]
    assert "from-device-raw" not in counted and "from-device-api" not in counted


# ---- observables ------------------------------------------------------------------------


def test_device_observing_via_field_gets_initial_data_then_update_after_action(
    driver, msgPlatform, waitUntil
):
    """A device subscribed on field gets the current value, then the value an action set."""
    connectDevices(driver, msgPlatform, ["obs-dev"])
    driver.call("subscribe", link="obs-dev", board="alpha")
    initial = waitUntil(lambda: latestValue(driver, "obs-dev", "alpha"), "initial data")
    assert (initial["_type"], initial["board"], initial["value"]) == (VALUE_TUPLE, "alpha", 0)

    pushed = driver.call(
        "push",
        link="obs-dev",
        processor=PROCESSOR,
        action=action("MsgTestSetValueAction", board="alpha", value=5),
    )
    assert pushed["errorClass"] is None, pushed
    assert [(t["board"], t["value"]) for t in pushed["value"]] == [("alpha", 5)]
    updated = waitUntil(
        lambda: (v := latestValue(driver, "obs-dev", "alpha")) and v["value"] == 5 and v,
        "update after the action",
    )
    assert updated["text"] == "alpha=5"


def test_ten_devices_on_field_share_one_upstream_subscription(driver, msgPlatform, waitUntil):
    """Ten devices observing one selector on field make one subscription on logic, and all
    of them get the initial data and the next update."""
    devices = [f"fan-dev-{i}" for i in range(10)]
    connectDevices(driver, msgPlatform, devices)
    for device in devices:
        driver.call("subscribe", link=device, board="shared")
    for device in devices:
        waitUntil(lambda d=device: latestValue(driver, d, "shared"), f"{device} initial data")
    assert driverRpc(driver, "counters", "shared")["subscriptions"] == 1

    driver.call(
        "push",
        link=devices[0],
        processor=PROCESSOR,
        action=action("MsgTestSetValueAction", board="shared", value=9),
    )
    for device in devices:
        waitUntil(
            lambda d=device: (latestValue(driver, d, "shared") or {}).get("value") == 9,
            f"{device} gets the update",
        )
    assert driverRpc(driver, "counters", "shared")["subscriptions"] == 1


# ---- actions ----------------------------------------------------------------------------


def test_action_without_delegate_gets_one_no_delegate_error(driver, msgPlatform):
    """An action type logic has no delegate for, pushed via field, gets one no-delegate error."""
    connectDevices(driver, msgPlatform, ["nodel-dev"])
    outcome, counts = pushOnce(
        driver, "nodel-dev", PROCESSOR, action("MsgTestUnhandledAction", note="x")
    )
    assert outcome["errorClass"] == "TupleActionError"
    assert outcome["code"] == "no-delegate"
    assert "peek_plugin_msgtest.MsgTestUnhandledAction" in outcome["remoteMessage"]
    assert counts == [1, 1]


def test_action_with_raising_delegate_gets_one_exception_error(driver, msgPlatform):
    """An action whose delegate raises, pushed via field, gets one error with type and text."""
    connectDevices(driver, msgPlatform, ["raise-dev"])
    outcome, counts = pushOnce(
        driver, "raise-dev", PROCESSOR, action("MsgTestFailingAction", reason="bad day")
    )
    assert outcome["errorClass"] == "TupleActionError"
    assert (outcome["code"], outcome["remoteType"]) == ("exception", "MsgTestError")
    assert "delegate refused: bad day" in outcome["remoteMessage"]
    assert counts == [1, 1]


# ---- services going away ------------------------------------------------------------------


def test_action_through_field_while_logic_is_down_gets_one_not_connected_error(driver, msgPlatform):
    """With logic killed, an action pushed to field's proxy gets one not-connected error."""
    connectDevices(driver, msgPlatform, ["down-dev"])
    msgPlatform.killLogic()
    try:
        outcome, counts = pushOnce(
            driver, "down-dev", PROCESSOR, action("MsgTestSetValueAction", board="down", value=1)
        )
    finally:
        msgPlatform.restartLogic()
    assert outcome["errorClass"] == "TupleActionError"
    assert outcome["code"] == "not-connected"
    assert counts == [1, 1]


def test_devices_get_fresh_data_after_logic_sigkill_and_restart(driver, msgPlatform, waitUntil):
    """After logic is SIGKILLed and restarted, every device on field and office receives the
    new logic's data over its unbroken link, without subscribing again."""
    fieldDevices = [f"restart-field-{i}" for i in range(5)]
    officeDevices = [f"restart-office-{i}" for i in range(2)]
    connectDevices(driver, msgPlatform, fieldDevices)
    connectDevices(driver, msgPlatform, officeDevices, site="office")
    devices = fieldDevices + officeDevices
    for device in devices:
        driver.call("subscribe", link=device, board="restart")
    oldPid = msgPlatform.commands["logic"].pid
    for device in devices:
        initial = waitUntil(lambda d=device: latestValue(driver, d, "restart"), f"{device} data")
        assert initial["logicPid"] == oldPid
    assert driverRpc(driver, "counters", "restart")["subscriptions"] == 2

    msgPlatform.killLogic()
    msgPlatform.restartLogic()
    newPid = msgPlatform.commands["logic"].pid
    assert newPid != oldPid
    for device in devices:
        waitUntil(
            lambda d=device: latestValue(driver, d, "restart")["logicPid"] == newPid,
            f"{device} gets the restarted logic's data",
        )
        assert driver.call("events", link=device) == {"up": 1}
    assert driverRpc(driver, "counters", "restart")["subscriptions"] == 2


def test_devices_get_data_again_after_field_sigkill_and_restart(driver, msgPlatform, waitUntil):
    """Devices whose field service is SIGKILLed and restarted reconnect, subscribe again and
    receive the current data."""
    devices = ["field-restart-0", "field-restart-1"]
    connectDevices(driver, msgPlatform, devices)
    for device in devices:
        driver.call("subscribe", link=device, board="fieldrestart")
    for device in devices:
        waitUntil(lambda d=device: latestValue(driver, d, "fieldrestart"), f"{device} data")

    msgPlatform.kill(FIELD_SPEC)
    msgPlatform.restartField()
    for device in devices:
        waitUntil(
            lambda d=device: driver.call("events", link=d) == {"up": 2, "down": 1},
            f"{device} relinks to field",
        )
        updates = waitUntil(
            lambda d=device: (
                len(u := driver.call("updates", link=d, board="fieldrestart")) >= 2 and u
            ),
            f"{device} gets data from the restarted field",
        )
        assert updates[-1][0]["board"] == "fieldrestart"


def test_logic_call_to_stopped_agent_fails_at_once(driver, msgPlatform):
    """With the agent stopped, logic's call to an agent RPC fails with NoVortexException
    before the call returns (nothing is sent, no timeout is waited for)."""
    msgPlatform.stopAgent()
    try:
        outcome = logicCallsAgent(driver, "subInts", 7, kwval1=5)
    finally:
        msgPlatform.restartAgent()
    assert outcome["errorClass"] == "NoVortexException"
    assert outcome["settledAtOnce"] is True
    assert "peek-agent-service" in outcome["message"]
