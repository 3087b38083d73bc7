"""Request identity over real loopback websockets: devices get their link's identity, field
proxies forward it to logic, handlers check ``requiredPermissions`` and plugin code reads
``currentIdentity()``."""

from __future__ import annotations

import pytest
from linkedvortexes import FIELD, LOGIC, settle, spinUntil
from test_TupleDataObservableHandler import FILT, OBSERVABLE, SELECTOR, CounterTuple
from twisted.internet import defer, reactor, task
from twisted.python.threadpool import ThreadPool

from vortex.handler.MessageUtil import (
    ERROR_FORBIDDEN,
    TupleActionError,
    TupleObserveError,
    VortexRPCError,
    makeMsg,
)
from vortex.handler.TupleActionProcessor import (
    ACTION_KEY_PREFIX,
    RESPONSE_KEY_PREFIX,
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleActionProcessorProxy import TupleActionProcessorProxy
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.handler.TupleDataObservableHandler import (
    TupleDataObservableHandler,
    TuplesProviderABC,
)
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.RequestIdentity import ANONYMOUS, RequestIdentity, currentIdentity, runAs
from vortex.rpc.RPC import vortexRPC
from vortex.TupleAction import TupleGenericAction

PROCESSOR = "tests.identity.processor"
EDIT = "tests_plugin.edit"

ALICE = RequestIdentity("local:alice", "alice", "device-a", "field", frozenset({EDIT}))
BOB = RequestIdentity("local:bob", "bob", "device-b", "field", frozenset())
FORGED = RequestIdentity("local:root", "root", "device-x", "field", frozenset({EDIT, "admin"}))


class Recorder(TupleActionProcessorDelegateABC):
    """A delegate with the manual's signature that notes who each action ran as."""

    def __init__(self) -> None:
        self.seen: list[RequestIdentity | None] = []

    def processTupleAction(self, tupleAction):
        self.seen.append(currentIdentity())
        return []


class WhoProvider(TuplesProviderABC):
    """Serves one CounterTuple whose value names the user the provider ran for."""

    def __init__(self) -> None:
        self.users: list[str | None] = []

    def makeVortexMsg(self, filt, tupleSelector):
        identity = currentIdentity()
        name = None if identity is None else identity.userName
        self.users.append(name)
        return Payload(filt, tuples=[CounterTuple(value=name)]).toVortexMsg()


class Deployment:
    """Logic with a processor and an observable; a field with proxies whose device links
    carry the identity the test assigns to each device's address."""

    def __init__(self, vortexes) -> None:
        self.vortexes = vortexes
        self.identities: dict[str, RequestIdentity] = {}
        self.logic = vortexes.server(LOGIC)
        self.recorder = Recorder()
        self.processor = TupleActionProcessor(PROCESSOR, vortexFactory=self.logic)
        self.processor.setDelegate(
            TupleGenericAction.tupleName(), self.recorder, requiredPermissions=EDIT
        )
        self.observable = TupleDataObservableHandler(
            OBSERVABLE, additionalFilt=FILT, vortexFactory=self.logic
        )
        self.provider = WhoProvider()
        self.observable.addTupleProvider(
            CounterTuple.tupleName(), self.provider, requiredPermissions=EDIT
        )
        self.field = vortexes.server(FIELD, deviceIdentity=self.identities.get)
        self.actionProxy = TupleActionProcessorProxy(PROCESSOR, LOGIC, vortexFactory=self.field)
        self.observableProxy = TupleDataObservableProxyHandler(
            OBSERVABLE, LOGIC, additionalFilt=FILT, vortexFactory=self.field, clock=task.Clock()
        )
        vortexes.connect(self.field, LOGIC)

    def device(self, name: str, identity: RequestIdentity | None):
        """A device linked to the field whose link carries ``identity`` (None: anonymous)."""
        factory = self.vortexes.client(name, FIELD, device=True)
        info = next(i for i in self.field.remoteVortexes() if i.name == name)
        if identity is not None:
            self.identities[info.peerAddress] = identity
        return factory

    def push(self, factory):
        """Push a generic action from a device through the field proxy."""
        client = TupleActionPushClient(FIELD, PROCESSOR, vortexFactory=factory)
        return client.pushAction(TupleGenericAction(key="touch", data={}))


@pytest.fixture
def deployment(vortexes) -> Deployment:
    """Logic and a field with proxies, torn down with the vortexes."""
    return Deployment(vortexes)


def test_identity_survives_the_wire_and_rejects_bad_shapes():
    """An identity written to a header decodes equal; a malformed one is refused with the
    field that is wrong named."""
    from vortex.PayloadEnvelope import PayloadEnvelope
    from vortex.serialise.errors import VortexDecodeError

    msg = PayloadEnvelope(filt={"key": "k"}, identity=ALICE).toVortexMsg()
    assert PayloadEnvelope.fromVortexMsg(msg).identity == ALICE
    assert (
        PayloadEnvelope.fromVortexMsg(PayloadEnvelope(filt={"k": 1}).toVortexMsg()).identity is None
    )
    bad = dict(ALICE.toWire(), permissions="admin")
    with pytest.raises(VortexDecodeError, match=r"header\.identity\.permissions"):
        RequestIdentity.fromWire(bad)
    with pytest.raises(VortexDecodeError, match=r"header\.identity\.userName"):
        RequestIdentity.fromWire(dict(ALICE.toWire(), userName=7))
    with pytest.raises(VortexDecodeError, match="exactly"):
        RequestIdentity.fromWire({"userId": "x"})


def test_device_action_reaches_logic_as_its_user(deployment):
    """An action a logged-in device pushes through the field runs on logic as that user and
    device, with the user's permissions."""
    device = deployment.device("tablet", ALICE)
    assert settle(deployment.push(device)) == []
    assert deployment.recorder.seen == [ALICE]


def test_forged_identity_in_a_device_header_is_replaced(deployment):
    """A device that writes another user (with more permissions) into its message header is
    still seen by logic as its own user: bob lacks the permission and is refused."""
    device = deployment.device("forger", BOB)
    responses: list = []
    PayloadEndpoint(
        {"key": RESPONSE_KEY_PREFIX + PROCESSOR},
        lambda envelope, **_: responses.append(envelope.result),
        payloadIO=device.payloadIO,
    )
    filt = {"key": ACTION_KEY_PREFIX + PROCESSOR, "msgId": "m1"}
    forged = makeMsg(filt, [TupleGenericAction(key="touch", data={})], FORGED)
    device.sendVortexMsg(forged, destVortexName=FIELD)
    spinUntil(lambda: responses)
    assert responses[0]["error"] == ERROR_FORBIDDEN
    assert "'bob'" in responses[0]["message"]
    assert deployment.recorder.seen == []


def test_missing_permission_gets_an_error_naming_it(deployment):
    """A device whose user lacks the delegate's permission gets a forbidden error naming the
    permission; the delegate is not called."""
    device = deployment.device("phone", BOB)
    with pytest.raises(TupleActionError) as raised:
        settle(deployment.push(device))
    assert raised.value.code == ERROR_FORBIDDEN
    assert raised.value.remoteType == "PermissionError"
    assert repr(EDIT) in raised.value.remoteMessage
    assert deployment.recorder.seen == []


def test_anonymous_device_is_refused_a_guarded_action(deployment):
    """A device link without a login is anonymous and holds no permission."""
    device = deployment.device("kiosk", None)
    with pytest.raises(TupleActionError, match="anonymous device"):
        settle(deployment.push(device))


def test_service_call_needs_no_permission(deployment, vortexes):
    """A service pushing straight to logic (no identity) is trusted by its link's secret."""
    agent = vortexes.client("peek-agent-service", LOGIC)
    client = TupleActionPushClient(LOGIC, PROCESSOR, vortexFactory=agent)
    assert settle(client.pushAction(TupleGenericAction(key="touch", data={}))) == []
    assert deployment.recorder.seen == [None]


def test_observable_provider_runs_per_user_and_checks_permissions(deployment):
    """Two devices of one user share one upstream subscription made as that user; a user
    without the provider's permission is answered with forbidden."""
    received: dict[str, list] = {"a1": [], "a2": []}
    for name in received:
        factory = deployment.device(name, ALICE)
        client = TupleDataObserverClient(
            FIELD, OBSERVABLE, additionalFilt=FILT, vortexFactory=factory
        )
        client.subscribeToTupleSelector(SELECTOR, received[name].append)
    spinUntil(lambda: all(received.values()))
    assert [tuples[0].value for tuples in received["a1"]] == ["alice"]
    assert deployment.provider.users == ["alice"]
    assert deployment.observable.subscriberCount(SELECTOR) == 1

    bobDevice = deployment.device("b1", BOB)
    bobClient = TupleDataObserverClient(
        FIELD, OBSERVABLE, additionalFilt=FILT, vortexFactory=bobDevice
    )
    with pytest.raises(TupleObserveError) as raised:
        settle(bobClient.pollForTuples(SELECTOR))
    assert raised.value.code == ERROR_FORBIDDEN
    assert deployment.provider.users == ["alice"]


@vortexRPC(LOGIC, requiredPermissions=EDIT)
def whoAmI(suffix: str) -> str:
    """Answers with the calling user's name (or 'service') and the suffix."""
    identity = currentIdentity()
    return ("service" if identity is None else identity.userName) + suffix


@vortexRPC(LOGIC, requiredPermissions=EDIT, deferToThread=True)
def whoAmIInAThread() -> str:
    """As whoAmI, run in the reactor's thread pool."""
    identity = currentIdentity()
    return "service" if identity is None else identity.userName


@pytest.fixture
def rpcs(vortexes, monkeypatch):
    """A field linked to logic, where both RPCs are started, with a fresh running thread
    pool as the reactor's (a stopped pool cannot restart)."""
    pool = ThreadPool(minthreads=0, maxthreads=2, name="tests-identity")
    pool.start()
    monkeypatch.setattr(reactor, "threadpool", pool)
    logic = vortexes.server(LOGIC)
    field = vortexes.client(FIELD, LOGIC)
    whoAmI.start(vortexFactory=logic)
    whoAmIInAThread.start(vortexFactory=logic)
    yield field
    whoAmI.shutdown()
    whoAmIInAThread.shutdown()
    pool.stop()


def test_rpc_made_for_a_user_carries_the_user_and_checks_permissions(rpcs):
    """A field RPC call made while handling alice's request runs on logic as alice (also in a
    thread); made for bob it is refused naming the permission; a service call just runs."""
    call, threaded = whoAmI.using(rpcs), whoAmIInAThread.using(rpcs)
    assert settle(runAs(ALICE, call, "!")) == "alice!"
    assert settle(runAs(ALICE, threaded)) == "alice"
    assert settle(call("?")) == "service?"
    with pytest.raises(VortexRPCError) as raised:
        settle(runAs(BOB, call, "!"))
    assert raised.value.code == ERROR_FORBIDDEN
    assert repr(EDIT) in raised.value.remoteMessage


def test_run_as_restores_the_callers_identity_and_starts_coroutines_as_the_user():
    """runAs sets the identity only for the call; a coroutine it starts runs as the user."""

    async def who() -> str | None:
        await defer.succeed(None)
        identity = currentIdentity()
        return None if identity is None else identity.userName

    d = runAs(ALICE, who)
    assert currentIdentity() is None
    assert settle(d) == "alice"
    assert runAs(BOB, lambda: currentIdentity()) is BOB
    assert currentIdentity() is None


def test_anonymous_identity_has_no_permissions():
    """ANONYMOUS names nobody and holds nothing; withoutDevice drops only the device."""
    assert ANONYMOUS.isAnonymous and not ANONYMOUS.permissions
    assert ALICE.withoutDevice() == RequestIdentity(
        "local:alice", "alice", None, "field", frozenset({EDIT})
    )


def test_repeated_wire_identities_are_reused_and_bad_ones_still_refused():
    """Decoding the same identity twice gives the same object; a header with the same values
    but a wrong shape is refused even after the good one was seen."""
    from vortex.serialise.errors import VortexDecodeError

    wire = dict(ALICE.toWire())
    first = RequestIdentity.fromWire(dict(wire))
    assert first == ALICE
    assert RequestIdentity.fromWire(dict(wire)) is first
    with pytest.raises(VortexDecodeError, match="exactly"):
        RequestIdentity.fromWire({**wire, "extra": 1})
    with pytest.raises(VortexDecodeError, match=r"permissions"):
        RequestIdentity.fromWire({**wire, "permissions": [EDIT, 7]})


def test_user_fields_in_an_action_payload_do_not_change_who_it_is(deployment):
    """A device that writes another user into its action's payload is still its own user
    to logic: bob is refused, naming bob, whatever the payload claims."""
    device = deployment.device("liar", BOB)
    client = TupleActionPushClient(FIELD, PROCESSOR, vortexFactory=device)
    claim = {"userId": "local:root", "userName": "root", "permissions": [EDIT]}
    with pytest.raises(TupleActionError) as raised:
        settle(client.pushAction(TupleGenericAction(key="touch", data=claim)))
    assert raised.value.code == ERROR_FORBIDDEN and "'bob'" in raised.value.remoteMessage
    assert deployment.recorder.seen == []


def test_processor_level_permissions_guard_every_delegate(vortexes):
    """requiredPermissions given to the processor itself guard its default delegate and
    add to a delegate's own."""
    logic = vortexes.server(LOGIC)
    recorder = Recorder()
    processor = TupleActionProcessor(
        "tests.identity.guarded",
        defaultDelegate=recorder,
        requiredPermissions="tests_plugin.use",
        vortexFactory=logic,
    )
    processor.setDelegate("tests.identity.Other", recorder, requiredPermissions=EDIT)
    responses: list = []
    agent = vortexes.client("peek-agent-service", LOGIC)
    PayloadEndpoint(
        {"key": RESPONSE_KEY_PREFIX + "tests.identity.guarded"},
        lambda envelope, **_: responses.append(envelope.result),
        payloadIO=agent.payloadIO,
    )
    user = RequestIdentity("local:u", "u", None, "field", frozenset({EDIT}))
    filt = {"key": ACTION_KEY_PREFIX + "tests.identity.guarded", "msgId": "m1"}
    agent.sendVortexMsg(makeMsg(filt, [TupleGenericAction(key="k", data={})], user), LOGIC)
    spinUntil(lambda: responses)
    assert responses[0]["error"] == ERROR_FORBIDDEN
    assert "'tests_plugin.use'" in responses[0]["message"]
    assert recorder.seen == []
