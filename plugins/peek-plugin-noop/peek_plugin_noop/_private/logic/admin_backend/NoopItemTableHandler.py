"""Create, read, update and delete ``NoopItem`` rows for the admin page's item editor.

The admin page talks to it over the admin site's vortex (``/vortexws``, behind login);
its requests carry ``noopItemEditFilt``, which must match the page's ``ITEM_EDIT_FILT``.
"""

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from peek_plugin_base.PeekVortexUtil import peekAdminAppName
from peek_plugin_noop._private.PluginNames import noopFilt
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.sqla_orm.OrmCrudHandler import OrmCrudHandler
from vortex.VortexFactory import DEVICE_PREFIX

logger = logging.getLogger(__name__)

#: The filt of the item editor's messages (matches the admin page's ITEM_EDIT_FILT).
noopItemEditFilt = {"key": "admin.Edit.NoopItemTuple", **noopFilt}


class _CrudHandler(OrmCrudHandler):
    """The CRUD handler; override ``createDeclarative`` here to edit a subset of the rows."""


def makeNoopItemTableHandler(
    tupleObservable: TupleDataObservableHandler, dbSessionCreator: Callable[[], Session]
) -> OrmCrudHandler:
    """The handler; after every save or delete it notifies the observable, so pages update."""
    handler = _CrudHandler(
        dbSessionCreator,
        NoopItemTuple,
        noopItemEditFilt,
        retrieveAll=True,
        tupleObservable=tupleObservable,
        # Only admin pages edit the table (devices are named "device:<their vortex name>").
        acceptOnlyFromVortex=DEVICE_PREFIX + peekAdminAppName,
    )
    logger.debug("Item editor handler started")
    return handler
