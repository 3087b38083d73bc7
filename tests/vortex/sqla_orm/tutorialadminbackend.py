"""The manual's admin_backend handlers (8.9.11 and 8.9.13), written as the tutorial writes them.

Only the imports of the tutorial plugin's own modules are changed (to ``ormcrudmodels``); the
vortex imports, including the misspelt ``OormCrudHandler`` module, are the manual's.
"""

import logging

from ormcrudmodels import SettingProperty, StringIntTuple, globalSetting

from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler
from vortex.sqla_orm.OormCrudHandler import OormCrudHandlerExtension
from vortex.sqla_orm.OrmCrudHandler import OrmCrudHandler
from vortex.TupleSelector import TupleSelector

logger = logging.getLogger(__name__)

tutorialFilt = {"plugin": "peek_plugin_tutorial"}

# This dict matches the definition in the Admin angular app.
settingFiltKey = {"key": "admin.Edit.SettingProperty"}
settingFiltKey.update(tutorialFilt)

stringIntFiltKey = {"key": "admin.Edit.StringIntTuple"}
stringIntFiltKey.update(tutorialFilt)


# This is the CRUD handler
class __CrudHandler(OrmCrudHandler):
    # The UI only edits the global settings
    def createDeclarative(self, session, payloadFilt):
        return [p for p in globalSetting(session).propertyObjects]


# This method creates an instance of the handler class.
def makeSettingPropertyHandler(dbSessionCreator):
    handler = __CrudHandler(dbSessionCreator, SettingProperty, settingFiltKey, retrieveAll=True)

    logger.debug("Started")
    return handler


class __StringIntCrudHandler(OrmCrudHandler):
    pass


class __ExtUpdateObservable(OormCrudHandlerExtension):
    """Update Observable ORM Crud Extension

    This extension is called after events that will alter data,
    it then notifies the observer.

    """

    def __init__(self, tupleDataObserver: TupleDataObservableHandler):
        self._tupleDataObserver = tupleDataObserver

    def _tellObserver(self, tuple_, tuples, session, payloadFilt):
        selector = {}
        tupleSelector = TupleSelector(StringIntTuple.tupleName(), selector)

        self._tupleDataObserver.notifyOfTupleUpdate(tupleSelector)
        return True

    afterUpdateCommit = _tellObserver
    afterDeleteCommit = _tellObserver


def makeStringIntTableHandler(tupleObservable, dbSessionCreator):
    handler = __StringIntCrudHandler(
        dbSessionCreator, StringIntTuple, stringIntFiltKey, retrieveAll=True
    )
    handler.addExtension(StringIntTuple, __ExtUpdateObservable(tupleObservable))

    logger.debug("Started")
    return handler
