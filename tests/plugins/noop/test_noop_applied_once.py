"""A noop action is applied once even when a device pushes it again after logic restarted.

Logic's processor remembers answered actions only in memory; the noop controller records each
action's uuid in ``pl_noop.AppliedAction`` in the transaction of its change. Here the action
goes through logic's real processor and controller on a database migrated by noop's own
revisions (SQLite and PostgreSQL); then processor and controller are replaced by new ones on
the same database, as after a SIGKILL of logic, and the device's repeat arrives.
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

from peek_plugin_base.PeekVortexUtil import peekFieldName, peekLogicName
from peek_plugin_base.storage.DbConnection import DbConnection
from peek_plugin_base.testing.ReactorWait import waitForDeferred
from vortex.handler.TupleActionProcessor import ACTION_KEY_PREFIX
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import RequestIdentity
from vortex.VortexFactory import VortexFactory

EDITOR = RequestIdentity(
    "local:carol", "carol", "device-c", "field", frozenset({"peek_plugin_noop.edit"})
)
_msgIds = itertools.count(1)


def _module(name: str) -> Any:
    return importlib.import_module(f"peek_plugin_noop._private.{name}")


class _StepOne:
    """The noop settings the controller reads: ``incrementStep`` 1."""

    def getBlocking(self, name: str) -> int:
        assert name == "incrementStep"
        return 1


@dataclass
class _Logic:
    """Noop's logic handlers on a vortex factory and a migrated database; ``restart()``
    replaces processor, observable and controller by new ones (nothing kept in memory)."""

    factory: VortexFactory
    db: DbConnection
    handlers: list

    def start(self) -> None:
        observable = TupleDataObservableHandler(
            "peek_plugin_noop", {"plugin": "peek_plugin_noop"}, vortexFactory=self.factory
        )
        controller = _module("logic.controller.MainController").MainController(
            self.db.ormSessionCreator, observable, _StepOne()
        )
        processor = _module("logic.TupleActionProcessor").makeTupleActionProcessorHandler(
            controller
        )
        self.handlers = [processor, controller, observable]

    def stop(self) -> None:
        for handler in self.handlers:
            handler.shutdown()
        self.handlers = []

    def restart(self) -> None:
        self.stop()
        self.start()

    def push(self, action: Any) -> tuple[dict | None, list]:
        """Push ``action`` as the field service does for a device; its (error, tuples)."""
        filt = {
            "plugin": "peek_plugin_noop",
            "key": ACTION_KEY_PREFIX + "peek_plugin_noop",
            "msgId": f"noop-once-{next(_msgIds)}",
        }
        envelope = PayloadEnvelope(
            filt, Payload(filt, tuples=[action]).toEncodedPayload(), identity=EDITOR
        )
        answers: list[bytes] = []

        def sendResponse(msg: bytes) -> Deferred[None]:
            answers.append(msg)
            return succeed(None)

        waitForDeferred(
            self.factory.payloadIO.process(
                PayloadEnvelope.fromVortexMsg(envelope.toVortexMsg()),
                vortexName=peekFieldName,
                sendResponse=sendResponse,
            )
        )
        assert len(answers) == 1, answers
        response = PayloadEnvelope.fromVortexMsg(answers[0])
        if response.result is not None:
            return response.result, []
        return None, response.decodePayload().tuples

    def item(self, name: str) -> tuple[int, int]:
        """The (id, value) of the item called ``name``."""
        NoopItemTuple = _module("storage.NoopItem").NoopItemTuple
        with self.db.ormSessionCreator() as session:
            row = session.query(NoopItemTuple).filter_by(name=name).one()
            return row.id, row.value

    def itemNamed(self, lowerName: str) -> str:
        """The stored name of the item whose name is ``lowerName`` in any case."""
        NoopItemTuple = _module("storage.NoopItem").NoopItemTuple
        with self.db.ormSessionCreator() as session:
            names = [r.name for r in session.query(NoopItemTuple).all()]
        (name,) = [n for n in names if n.lower() == lowerName]
        return name


@pytest.fixture
def threadPool(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadPool]:
    """A running pool standing in for the reactor's, for the controller's ``deferToThread``."""
    pool = ThreadPool(minthreads=0, maxthreads=2, name="tests-noop-applied-once")
    pool.start()
    monkeypatch.setattr(reactor, "threadpool", pool)
    yield pool
    pool.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def logic(
    request: pytest.FixtureRequest, noopOnPath: Path, tmp_path: Path, threadPool: ThreadPool
) -> Iterator[_Logic]:
    """Noop's logic on a database migrated by noop's revisions, with item ``Apples`` at 0."""
    url = (
        f"sqlite:///{tmp_path / 'peek.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("peekPostgresUrl")
    )
    base = _module("storage.DeclarativeBase")
    base.loadStorageTuples()
    _module("tuples").loadPrivateTuples()
    db = DbConnection(
        url,
        base.metadata,
        str(noopOnPath / "_private" / "alembic"),
        enableCreateAll=False,
        isReactorThread=lambda: False,
    )
    db.migrate()
    with db.ormSessionCreator() as session:
        session.add(_module("storage.NoopItem").NoopItemTuple(name="Apples", value=0))
        session.commit()
    factory = VortexFactory(peekLogicName).makeDefault()
    running = _Logic(factory, db, [])
    running.start()
    yield running
    running.stop()
    waitForDeferred(factory.shutdown())
    db.dispose()


def test_anIncrementPushedAgainAfterALogicRestartIsAppliedOnce(logic: _Logic) -> None:
    """An increment applied (its answer lost), then pushed again with the same uuid to a
    restarted logic, leaves the item incremented once and is answered as the first: no
    tuples. A new increment after it is still applied."""
    Increment = _module("tuples.NoopIncrementActionTuple").NoopIncrementActionTuple
    itemId, before = logic.item("Apples")
    action = Increment(itemId=itemId, delta=3)

    first = logic.push(action)
    logic.restart()
    repeat = logic.push(action)

    assert first == (None, [])
    assert repeat == first
    assert logic.item("Apples") == (itemId, before + 3)
    assert logic.push(Increment(itemId=itemId, delta=1)) == (None, [])
    assert logic.item("Apples") == (itemId, before + 4)


def test_aCapsTogglePushedAgainAfterALogicRestartIsAppliedOnce(logic: _Logic) -> None:
    """A caps toggle pushed again after a restart does not toggle the name back."""
    Toggle = _module("tuples.NoopToggleCapsActionTuple").NoopToggleCapsActionTuple
    itemId, _ = logic.item("Apples")
    action = Toggle(itemId=itemId)

    assert logic.push(action) == (None, [])
    logic.restart()
    assert logic.push(action) == (None, [])

    assert logic.itemNamed("apples") == "apples"
