"""Create, read, update and delete ``NoopItem`` rows for the admin page's item editor.

The admin page talks to it over the admin site's vortex (``/vortexws``, behind login);
its requests carry ``noopItemEditFilt``, which must match the page's ``ITEM_EDIT_FILT``.
Each request runs as the admin who made it, who is recorded as the changer of the items
they create or change.
"""

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from peek_plugin_base.PeekVortexUtil import peekAdminAppName
from peek_plugin_noop._private.logic.controller.MainController import changedBy
from peek_plugin_noop._private.PluginNames import noopFilt
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.RequestIdentity import currentIdentity
from vortex.sqla_orm.OrmCrudHandler import OrmCrudHandler, OrmCrudHandlerExtension
from vortex.VortexFactory import DEVICE_PREFIX

logger = logging.getLogger(__name__)

#: The filt of the item editor's messages (matches the admin page's ITEM_EDIT_FILT).
noopItemEditFilt = {"key": "admin.Edit.NoopItemTuple", **noopFilt}


class _CrudHandler(OrmCrudHandler):
    """The CRUD handler; override ``createDeclarative`` here to edit a subset of the rows."""


class _RecordChanger(OrmCrudHandlerExtension):
    """Sets ``lastChangedBy`` of a created or changed item to the admin saving it.

    The page saves every item at once, so an item whose name and value are unchanged keeps
    its stored changer. Hooks run in the database thread with the request's identity current.
    """

    def beforeCreate(self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict) -> None:
        """A new item: the admin made it."""
        tuple_.lastChangedBy = changedBy(currentIdentity())

    def beforeUpdate(self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict) -> None:
        """A stored item: the admin changed it only if its name or value differ."""
        stored = session.get(NoopItemTuple, tuple_.id)
        if stored is not None and (stored.name, stored.value) == (tuple_.name, tuple_.value):
            tuple_.lastChangedBy = stored.lastChangedBy
        else:
            tuple_.lastChangedBy = changedBy(currentIdentity())


class _AfterCommit(OrmCrudHandlerExtension):
    """Calls ``changed()`` (in the database thread) after items are saved or deleted."""

    def __init__(self, changed: Callable[[], object]) -> None:
        self._changed = changed

    def afterUpdateCommit(
        self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict
    ) -> None:
        """Items were saved."""
        self._changed()

    def afterDeleteCommit(
        self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict
    ) -> None:
        """Items were deleted."""
        self._changed()


def makeNoopItemTableHandler(
    tupleObservable: TupleDataObservableHandler,
    dbSessionCreator: Callable[[], Session],
    onItemsChangedInThread: Callable[[], object] | None = None,
) -> OrmCrudHandler:
    """The handler; after every save or delete it notifies the observable, so pages update,
    and calls ``onItemsChangedInThread`` (from the database thread) when given."""
    handler = _CrudHandler(
        dbSessionCreator,
        NoopItemTuple,
        noopItemEditFilt,
        retrieveAll=True,
        tupleObservable=tupleObservable,
        # Only admin pages edit the table (devices are named "device:<their vortex name>").
        acceptOnlyFromVortex=DEVICE_PREFIX + peekAdminAppName,
    )
    handler.addExtension(NoopItemTuple, _RecordChanger())
    if onItemsChangedInThread is not None:
        handler.addExtension(NoopItemTuple, _AfterCommit(onItemsChangedInThread))
    logger.debug("Item editor handler started")
    return handler
