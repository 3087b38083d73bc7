"""Provides every ``NoopItemTuple`` to the observable's subscribers."""

from collections.abc import Callable

from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from vortex.handler.TupleDataObservableHandler import TuplesProviderABC
from vortex.Payload import Payload
from vortex.TupleSelector import TupleSelector


class NoopItemTupleProvider(TuplesProviderABC):
    """Loads the items from the database, off the reactor thread."""

    def __init__(self, ormSessionCreator: Callable[[], Session]) -> None:
        self._ormSessionCreator = ormSessionCreator

    def makeVortexMsg(self, filt: dict, tupleSelector: TupleSelector) -> Deferred[bytes]:
        """A Deferred of the vortex message holding the items the selector asks for."""
        return deferToThread(self._makeVortexMsgBlocking, filt, tupleSelector)

    def _makeVortexMsgBlocking(self, filt: dict, tupleSelector: TupleSelector) -> bytes:
        with self._ormSessionCreator() as session:
            query = session.query(NoopItemTuple).order_by(NoopItemTuple.id)
            # A selector narrows the data, e.g. TupleSelector(name, {"name": "Apples"}).
            if "name" in tupleSelector.selector:
                query = query.filter(NoopItemTuple.name == tupleSelector.selector["name"])
            # Encode while the session is open: the rows load their columns lazily.
            return Payload(filt, tuples=query.all()).toVortexMsg()
