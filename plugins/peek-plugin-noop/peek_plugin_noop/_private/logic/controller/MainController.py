"""The noop plugin's main controller: it changes items and tells the observable about it.

It is the delegate of the plugin's tuple action processor (``TupleActionProcessor.py``) and
serves the published API (the first items are seeded by ``NoopInstallHooks``). All database
work runs in a thread (``deferToThread``), never on the reactor thread. Each change records
who made it, read from the request's identity (``currentIdentity()``) before the work leaves
the reactor, and the action's uuid in ``AppliedAction`` in the same transaction, so an action
a device pushes again (even after logic restarted) is applied once.
"""

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from peek_plugin_base.settings.PluginSettingsABC import PluginSettingsABC
from peek_plugin_noop._private.storage.AppliedAction import appliedActions
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from peek_plugin_noop._private.tuples.NoopIncrementActionTuple import NoopIncrementActionTuple
from peek_plugin_noop._private.tuples.NoopToggleCapsActionTuple import NoopToggleCapsActionTuple
from vortex.handler.TupleActionProcessor import TupleActionProcessorDelegateABC
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.RequestIdentity import RequestIdentity, currentIdentity
from vortex.TupleAction import TupleActionABC
from vortex.TupleSelector import TupleSelector

logger = logging.getLogger(__name__)

#: ``lastChangedBy`` of a change made from a device nobody logged in on (a kiosk site).
ANONYMOUS_CHANGER = "an anonymous user"


def changedBy(identity: RequestIdentity | None) -> str | None:
    """What ``lastChangedBy`` records for a change made for ``identity``: the user's name,
    ``ANONYMOUS_CHANGER`` for an anonymous device, None for a service (no identity)."""
    if identity is None:
        return None
    return ANONYMOUS_CHANGER if identity.userName is None else identity.userName


class UnknownItemError(LookupError):
    """An action names an item id that does not exist."""


class MainController(TupleActionProcessorDelegateABC):
    """Processes the noop actions against the ``NoopItem`` table."""

    def __init__(
        self,
        dbSessionCreator: Callable[[], Session],
        tupleObservable: TupleDataObservableHandler,
        pluginSettings: PluginSettingsABC,
    ) -> None:
        self._dbSessionCreator = dbSessionCreator
        self._tupleObservable = tupleObservable
        self._pluginSettings = pluginSettings
        #: Called after each change of the items (e.g. to publish the bulk index).
        self._changeListeners: list[Callable[[], object]] = []

    def shutdown(self) -> None:
        """Forget the change listeners; every database session is closed after each use."""
        self._changeListeners.clear()

    def addItemsChangedListener(self, listener: Callable[[], object]) -> None:
        """Call ``listener()`` after each change of the items."""
        self._changeListeners.append(listener)

    def notifyItemsChanged(self) -> None:
        """Tell the observable that the items changed; it sends subscribers the new list.

        This selector must equal what the pages observe (all items, empty selector).
        """
        self._tupleObservable.notifyOfTupleUpdate(TupleSelector(NoopItemTuple.tupleName(), {}))
        for listener in list(self._changeListeners):
            listener()

    # ---- actions ---------------------------------------------------------------------

    def processTupleAction(self, tupleAction: TupleActionABC) -> Deferred[None]:
        """Apply one action (called by the action processor); a Deferred of no result.

        The processor has already checked the action's permissions for the user. An action
        already applied (its uuid is in ``AppliedAction``) changes nothing and is answered as
        the first time: no tuples.
        """
        # The identity is current here, on the reactor thread; the database thread gets the
        # name as an argument.
        changer = changedBy(currentIdentity())
        if isinstance(tupleAction, NoopIncrementActionTuple):
            d = deferToThread(self._processIncrement, tupleAction, changer)
        elif isinstance(tupleAction, NoopToggleCapsActionTuple):
            d = deferToThread(self._processToggleCaps, tupleAction, changer)
        else:
            raise NotImplementedError(tupleAction.tupleName())
        d.addCallback(self._actionDone)
        return d

    def _actionDone(self, _: Any) -> None:
        self.notifyItemsChanged()

    def _processIncrement(self, action: NoopIncrementActionTuple, changer: str | None) -> None:
        # The setting is read for every action, so an admin's change applies at once.
        step = self._pluginSettings.getBlocking("incrementStep")
        with self._dbSessionCreator() as session:
            if not appliedActions.markApplied(session, action.uuid):
                logger.info("Action %s was already applied; ignoring the repeat", action.uuid)
                return
            row = self._itemRow(session, action.itemId)
            row.value += int(action.delta) * step
            row.lastChangedBy = changer
            # Read before the commit, which expires the row: reading it after would begin
            # another transaction just for this line.
            changed = (row.id, row.name, row.value)
            session.commit()
            logger.info("Item %s %r is now %s", *changed)

    def _processToggleCaps(self, action: NoopToggleCapsActionTuple, changer: str | None) -> None:
        with self._dbSessionCreator() as session:
            if not appliedActions.markApplied(session, action.uuid):
                logger.info("Action %s was already applied; ignoring the repeat", action.uuid)
                return
            row = self._itemRow(session, action.itemId)
            row.name = row.name.lower() if row.name[:1].isupper() else row.name.upper()
            row.lastChangedBy = changer
            changed = (row.id, row.name)
            session.commit()
            logger.info("Item %s is now named %r", *changed)

    @staticmethod
    def _itemRow(session: Session, itemId: Any) -> NoopItemTuple:
        # Locked until the commit: two actions changing one item at once on PostgreSQL would
        # otherwise both read the old value and one change would be lost (SQLite's
        # transactions here begin IMMEDIATE, so they already wait for each other).
        row = session.get(NoopItemTuple, itemId, with_for_update=True)
        if row is None:
            raise UnknownItemError(f"peek_plugin_noop: there is no NoopItem with id {itemId!r}")
        return row

    # ---- the API ----------------------------------------------------------------------

    def itemValues(self) -> Deferred[dict[str, int]]:
        """A Deferred of every item's value by name."""
        return deferToThread(self._itemValuesBlocking)

    def _itemValuesBlocking(self) -> dict[str, int]:
        with self._dbSessionCreator() as session:
            rows = session.query(NoopItemTuple.name, NoopItemTuple.value).all()
            return {name: value for name, value in rows}
