"""The noop plugin acts for the request's user: the increment needs ``peek_plugin_noop.edit``,
and every change records who made it in ``NoopItemTuple.lastChangedBy``.

Actions and admin saves are dispatched as envelopes carrying an identity (as a field proxy
or the admin site's vortex sets it) through a real ``VortexFactory``'s ``PayloadIO`` to the
plugin's own processor and CRUD handler, backed by SQLite migrated to noop's newest revision.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.python.threadpool import ThreadPool

from peek_plugin_base.logic.PluginLogicInstallHooksABC import PluginInstallContext
from peek_plugin_base.PeekVortexUtil import peekAdminAppName, peekFieldName, peekLogicName
from peek_plugin_base.settings.PluginSetting import PluginSetting
from peek_plugin_base.settings.PluginSettingsABC import PluginSettingsABC
from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.testing.ReactorWait import waitForDeferred
from vortex.handler.MessageUtil import ERROR_FORBIDDEN
from vortex.handler.TupleActionProcessor import ACTION_KEY_PREFIX
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import RequestIdentity
from vortex.VortexFactory import DEVICE_PREFIX, VortexFactory

EDIT = "peek_plugin_noop.edit"
ALICE = RequestIdentity("local:alice", "alice", "device-a", "field", frozenset({EDIT}))
BOB = RequestIdentity("local:bob", "bob", "device-b", "field", frozenset())
#: A device on a kiosk site whose anonymous devices are granted the edit permission.
KIOSK = RequestIdentity(None, None, "device-k", "field", frozenset({EDIT}))
ADMIN = RequestIdentity("recovery:admin", "admin", "device-x", "admin", frozenset({"admin", EDIT}))

_msgIds = itertools.count(1)


class FixedSettings(PluginSettingsABC):
    """The noop settings at their declared defaults (``incrementStep`` 1), never stored."""

    values = {"greeting": "hello", "incrementStep": 1}

    @property
    def declarations(self) -> tuple[PluginSetting, ...]:
        return ()

    def get(self, name: str) -> Deferred[Any]:
        return succeed(self.values[name])

    def set(self, name: str, value: Any) -> Deferred[None]:
        raise NotImplementedError("the test settings are fixed")

    def getBlocking(self, name: str) -> Any:
        return self.values[name]

    def setBlocking(self, name: str, value: Any) -> None:
        raise NotImplementedError("the test settings are fixed")


@dataclass
class Answer:
    """One response: its error object (None on success) and its tuples."""

    error: dict | None
    tuples: list


@dataclass
class NoopLogic:
    """The noop plugin's logic handlers on a real vortex factory and a migrated database."""

    factory: VortexFactory
    db: DbConnection
    itemClass: Any

    def dispatch(
        self, filt: dict, tuples: list, identity: RequestIdentity | None, fromVortex: str
    ) -> Answer:
        """Send one request as ``fromVortex`` for ``identity``; wait for its one answer.

        The envelope goes through its wire form, so the identity is read from the header.
        """
        filt = {**filt, "msgId": f"noop-identity-{next(_msgIds)}"}
        envelope = PayloadEnvelope(
            filt, Payload(filt, tuples=tuples).toEncodedPayload(), identity=identity
        )
        received = PayloadEnvelope.fromVortexMsg(envelope.toVortexMsg())
        answers: list[bytes] = []

        def sendResponse(msg: bytes) -> Deferred[None]:
            answers.append(msg)
            return succeed(None)

        waitForDeferred(
            self.factory.payloadIO.process(
                received, vortexName=fromVortex, sendResponse=sendResponse
            )
        )
        assert len(answers) == 1, answers
        response = PayloadEnvelope.fromVortexMsg(answers[0])
        if response.result is not None:
            return Answer(response.result, [])
        return Answer(None, response.decodePayload().tuples)

    def push(self, action: Any, identity: RequestIdentity | None) -> Answer:
        """Push a noop action to logic as the field service does for a device's user."""
        filt = {"plugin": "peek_plugin_noop", "key": ACTION_KEY_PREFIX + "peek_plugin_noop"}
        return self.dispatch(filt, [action], identity, peekFieldName)

    def item(self, name: str) -> tuple[int, int, str | None]:
        """The stored (id, value, lastChangedBy) of the item called ``name``."""
        with self.db.ormSessionCreator() as session:
            row = session.query(self.itemClass).filter_by(name=name).one()
            return row.id, row.value, row.lastChangedBy


def _module(name: str) -> Any:
    return importlib.import_module(f"peek_plugin_noop._private.{name}")


@pytest.fixture
def threadPool(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadPool]:
    """A running pool as the reactor's, for ``deferToThread`` (a stopped pool cannot restart)."""
    pool = ThreadPool(minthreads=0, maxthreads=2, name="tests-noop-identity")
    pool.start()
    monkeypatch.setattr(reactor, "threadpool", pool)
    yield pool
    pool.stop()


@pytest.fixture
def noopLogic(noopOnPath: Path, tmp_path: Path, threadPool: ThreadPool) -> Iterator[NoopLogic]:
    """Logic's noop action processor and item editor on SQLite, seeded with Apples and Pears."""
    base = _module("storage.DeclarativeBase")
    base.loadStorageTuples()
    _module("tuples").loadPrivateTuples()
    db = DbConnection(
        f"sqlite:///{tmp_path / 'peek.sqlite'}",
        base.metadata,
        str(noopOnPath / "_private" / "alembic"),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )
    db.migrate()
    factory = VortexFactory(peekLogicName).makeDefault()
    observable = TupleDataObservableHandler(
        "peek_plugin_noop", {"plugin": "peek_plugin_noop"}, vortexFactory=factory
    )
    controller = _module("logic.controller.MainController").MainController(
        db.ormSessionCreator, observable, FixedSettings()
    )
    # The seed items, as the install hook adds them on a fresh install.
    with db.ormSessionCreator() as session:
        _module("logic.NoopInstallHooks").NoopInstallHooks().install(
            PluginInstallContext("peek_plugin_noop", session, None, "0.1.0", tmp_path)
        )
        session.commit()
    processor = _module("logic.TupleActionProcessor").makeTupleActionProcessorHandler(controller)
    editor = _module("logic.admin_backend.NoopItemTableHandler").makeNoopItemTableHandler(
        observable, db.ormSessionCreator
    )
    yield NoopLogic(factory, db, _module("storage.NoopItem").NoopItemTuple)
    for handler in (editor, processor, controller, observable):
        handler.shutdown()
    waitForDeferred(factory.shutdown())
    db.dispose()


def _increment(logic: NoopLogic, name: str, delta: int = 1) -> Any:
    action = _module("tuples.NoopIncrementActionTuple").NoopIncrementActionTuple
    return action(itemId=logic.item(name)[0], delta=delta)


def _toggleCaps(logic: NoopLogic, name: str) -> Any:
    action = _module("tuples.NoopToggleCapsActionTuple").NoopToggleCapsActionTuple
    return action(itemId=logic.item(name)[0])


def test_incrementWithoutEditIsRefusedNamingItAndChangesNothing(noopLogic: NoopLogic) -> None:
    """Bob lacks peek_plugin_noop.edit: his increment is answered ``forbidden`` (a
    PermissionError naming the permission and him) and the item keeps its value and changer."""
    before = noopLogic.item("Apples")

    answer = noopLogic.push(_increment(noopLogic, "Apples", 2), BOB)

    assert answer.error is not None
    assert answer.error["error"] == ERROR_FORBIDDEN
    assert answer.error["type"] == "PermissionError"
    assert repr(EDIT) in answer.error["message"] and "'bob'" in answer.error["message"]
    assert noopLogic.item("Apples") == before


def test_incrementWithEditChangesTheItemAndRecordsTheUser(noopLogic: NoopLogic) -> None:
    """Alice holds peek_plugin_noop.edit: her increment (delta 2, step 1) is applied and the
    item's lastChangedBy is her user name."""
    itemId, value, changer = noopLogic.item("Apples")
    assert changer is None

    answer = noopLogic.push(_increment(noopLogic, "Apples", 2), ALICE)

    assert answer == Answer(None, [])
    assert noopLogic.item("Apples") == (itemId, value + 2, "alice")


def test_serviceIncrementIsNotCheckedAndRecordsNoUser(noopLogic: NoopLogic) -> None:
    """A service's own increment (no identity) needs no permission and clears the changer:
    the last change was a service's, not Alice's."""
    noopLogic.push(_increment(noopLogic, "Pears"), ALICE)
    itemId, value, _ = noopLogic.item("Pears")

    assert noopLogic.push(_increment(noopLogic, "Pears"), None) == Answer(None, [])

    assert noopLogic.item("Pears") == (itemId, value + 1, None)


def test_kioskIncrementRecordsAnAnonymousUser(noopLogic: NoopLogic) -> None:
    """An anonymous device granted the permission (a kiosk site's anonymousPermissions) may
    increment; the change is recorded as an anonymous user's."""
    anonymous = _module("logic.controller.MainController").ANONYMOUS_CHANGER

    assert noopLogic.push(_increment(noopLogic, "Apples"), KIOSK) == Answer(None, [])

    assert noopLogic.item("Apples")[2] == anonymous


def test_toggleCapsNeedsNoPermissionAndRecordsTheUser(noopLogic: NoopLogic) -> None:
    """The caps toggle has no required permission: Bob's is applied ("Pears" becomes
    "pears") and names him."""
    itemId, value, _ = noopLogic.item("Pears")

    assert noopLogic.push(_toggleCaps(noopLogic, "Pears"), BOB) == Answer(None, [])

    assert noopLogic.item("pears") == (itemId, value, "bob")


def test_adminSaveRecordsTheAdminOnChangedAndNewItemsOnly(noopLogic: NoopLogic) -> None:
    """The admin page saves every item: the admin becomes the changer of the item they
    changed and of the one they added; an unchanged item keeps Alice as its changer."""
    noopLogic.push(_increment(noopLogic, "Pears"), ALICE)
    itemClass = noopLogic.itemClass
    with noopLogic.db.ormSessionCreator() as session:
        items = session.query(itemClass).order_by(itemClass.id).all()
        session.expunge_all()
    apples, pears = items
    apples.value += 10
    filt = {"key": "admin.Edit.NoopItemTuple", "plugin": "peek_plugin_noop", "op": "save"}

    answer = noopLogic.dispatch(
        filt,
        [apples, pears, itemClass(name="Plums", value=1)],
        ADMIN,
        DEVICE_PREFIX + peekAdminAppName,
    )

    assert answer.error is None
    assert [(t.name, t.lastChangedBy) for t in answer.tuples] == [
        ("Apples", "admin"),
        ("Pears", "alice"),
        ("Plums", "admin"),
    ]
    assert noopLogic.item("Apples")[1:] == (apples.value, "admin")
    assert noopLogic.item("Pears")[2] == "alice"
