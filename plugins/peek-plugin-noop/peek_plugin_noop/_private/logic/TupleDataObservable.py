"""The noop plugin's observable on logic: it publishes tuples to subscribers and their updates.

Field and office proxy it to their devices (see ``_private/device``); a subscriber sends a
``TupleSelector`` and gets the current tuples, then the new list after every
``notifyOfTupleUpdate`` for that selector.
"""

from collections.abc import Callable

from sqlalchemy.orm import Session

from peek_plugin_noop._private.logic.tuple_providers.NoopItemTupleProvider import (
    NoopItemTupleProvider,
)
from peek_plugin_noop._private.PluginNames import noopFilt, noopObservableName
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler


def makeTupleDataObservableHandler(
    ormSessionCreator: Callable[[], Session],
) -> TupleDataObservableHandler:
    """Create the observable and register a provider for each tuple type it publishes."""
    tupleObservable = TupleDataObservableHandler(
        observableName=noopObservableName, additionalFilt=noopFilt
    )

    # Register TupleProviders here, one per tuple name subscribers may ask for.
    tupleObservable.addTupleProvider(
        NoopItemTuple.tupleName(), NoopItemTupleProvider(ormSessionCreator)
    )
    return tupleObservable
