"""Tuple actions: tuples describing something a user did, processed with exactly one response."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from vortex.Tuple import Tuple, TupleField, addTupleType


def _newUuid() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


class TupleActionABC(Tuple):
    """Base of every action tuple: a unique ``uuid`` and the ``dateTime`` it was made.

    Subclasses set ``__tupleType__`` and are registered with ``@addTupleType``.
    """

    uuid = TupleField(defaultValue=_newUuid)
    dateTime = TupleField(defaultValue=_now)


@addTupleType
class TupleGenericAction(TupleActionABC):
    """A generic action (e.g. a button click): a ``key`` naming it plus free-form ``data``."""

    __tupleType__ = "vortex.TupleGenericAction"

    key = TupleField()
    data = TupleField()


@addTupleType
class TupleUpdateAction(TupleActionABC):
    """A data update: the ``tupleSelector`` of the changed data and the ``tupleChanges`` made."""

    __tupleType__ = "vortex.TupleUpdateAction"

    tupleSelector = TupleField()
    tupleChanges = TupleField(defaultValue=list)
