"""OrmCrudHandler: create, retrieve, update and delete SQLAlchemy declarative tuples for clients.

This is the server side of the browser's ``TupleLoader`` (manual 8.9.11). Message shapes:
``docs/vortex/messaging.rst`` (section ORM CRUD). All database work, and the encoding of
the tuples it produces, runs in the reactor's thread pool, never on the reactor thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from twisted.internet import defer, threads
from twisted.internet.interfaces import IReactorThreads
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_BAD_REQUEST,
    ERROR_EXCEPTION,
    ERROR_FORBIDDEN,
    ERROR_REFUSED,
    decodeTuples,
    errorResultForFailure,
    ignoreClosedLink,
    isValidId,
    makeErrorMsg,
    makeMsg,
    permissionNames,
    refusal,
    resolveFactory,
)
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import runAs
from vortex.serialise.errors import VortexDecodeError
from vortex.Tuple import Tuple
from vortex.VortexFactory import VortexFactory

if TYPE_CHECKING:
    from vortex.handler.TupleDataObservableHandler import TupleDataObservableHandler

logger = logging.getLogger(__name__)

#: Filt keys of the protocol; a handler's own filt must not use them.
MSG_ID_KEY = "msgId"
OP_KEY = "op"
ID_KEY = "id"
SELECTOR_KEY = "selector"
PROTOCOL_KEYS = frozenset({MSG_ID_KEY, OP_KEY, ID_KEY, SELECTOR_KEY})

#: Values of ``op``: the three requests, and the marker every response carries.
OP_RETRIEVE = "retrieve"
OP_SAVE = "save"
OP_DELETE = "delete"
OP_RESPONSE = "response"


class OrmCrudRequestError(ValueError):
    """A CRUD request is malformed; it is answered with a ``bad-request`` error."""


class AfterCommitHookError(RuntimeError):
    """An ``after...Commit`` hook raised; the transaction before it was committed."""


class OrmCrudHandlerExtension:
    """Hooks an OrmCrudHandler calls for the tuples of one class; override those you need.

    Each hook is called once per tuple as ``hook(tuple_, tuples, session, payloadFilt)``
    in the database thread: ``tuples`` is the whole list being processed, ``session`` the
    request's ORM session and ``payloadFilt`` the request's filt. Return values are ignored.
    Raising in a ``before...`` hook, ``afterCreate`` or ``afterRetrieve`` fails the request
    and rolls back its transaction; raising in an ``after...Commit`` hook fails the response
    but cannot undo the commit.
    """

    def beforeCreate(self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict) -> Any:
        """A new tuple (no primary key) is about to be added; it may still be changed."""

    def afterCreate(self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict) -> Any:
        """A new tuple was inserted (its id is set); the transaction is still open."""

    def beforeUpdate(self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict) -> Any:
        """A tuple with a primary key is about to be merged over the stored row."""

    def afterUpdateCommit(
        self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict
    ) -> Any:
        """A saved tuple (created or updated) was committed."""

    def beforeDelete(self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict) -> Any:
        """A stored row (as loaded from the database) is about to be deleted."""

    def afterDeleteCommit(
        self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict
    ) -> Any:
        """A deleted row's deletion was committed."""

    def afterRetrieve(self, tuple_: Any, tuples: list, session: Session, payloadFilt: dict) -> Any:
        """A retrieved tuple is about to be sent; it may be changed (not saved)."""


class OrmCrudHandler:
    """Answers retrieve, save and delete requests for one declarative tuple class at ``filt``.

    Every request gets exactly one response: the resulting tuples, or an error object. A
    save or delete runs in one transaction, so a failure leaves the table unchanged.
    Subclass and override :meth:`createDeclarative` to choose what a retrieve returns.
    A user's request needs ``requiredPermissions``; hooks and ``createDeclarative`` run with
    the request's identity current (``vortex.RequestIdentity.currentIdentity``).
    """

    def __init__(
        self,
        sessionFunctor: Callable[[], Session],
        cls: type,
        filt: dict,
        retreiveAll: bool = False,
        *,
        retrieveAll: bool | None = None,
        tupleObservable: TupleDataObservableHandler | None = None,
        acceptOnlyFromVortex: str | Iterable[str] | None = None,
        vortexFactory: VortexFactory | None = None,
        reactor: IReactorThreads | None = None,
        requiredPermissions: str | Iterable[str] | None = None,
    ) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Tuple) and hasattr(cls, "__mapper__")):
            raise TypeError(
                f"OrmCrudHandler needs a class that is both a vortex Tuple and an SQLAlchemy"
                f" declarative (mapped) class, got {cls!r}"
            )
        reserved = PROTOCOL_KEYS.intersection(filt) if type(filt) is dict else ()
        if reserved:
            raise ValueError(
                f"OrmCrudHandler for {cls.tupleName()!r}: filt {filt!r} uses the protocol"
                f" key(s) {sorted(reserved)}; rename them (the client sends these itself)"
            )
        if retrieveAll is not None and retreiveAll and not retrieveAll:
            raise TypeError(
                f"OrmCrudHandler for {cls.tupleName()!r}: retreiveAll=True contradicts"
                " retrieveAll=False; pass only one of them"
            )
        factory = resolveFactory(vortexFactory)
        self._sessionFunctor = sessionFunctor
        self._cls = cls
        self._retrieveAll = bool(retreiveAll or retrieveAll)
        self._tupleObservable = tupleObservable
        self._reactor: IReactorThreads = reactor if reactor is not None else factory.reactor
        if isinstance(acceptOnlyFromVortex, str):
            acceptOnlyFromVortex = (acceptOnlyFromVortex,)
        self._accept = None if acceptOnlyFromVortex is None else frozenset(acceptOnlyFromVortex)
        self._where = f"ORM CRUD handler for {cls.tupleName()!r}"
        self._required = permissionNames(requiredPermissions, self._where)
        mapper = inspect(cls)
        self._pkKeys = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
        self._columnKeys = frozenset(prop.key for prop in mapper.column_attrs)
        self._extensions: dict[type, tuple[OrmCrudHandlerExtension, ...]] = {}
        self._ops: dict[str, Callable[[Session, list, dict, dict], bytes]] = {
            OP_RETRIEVE: self._retrieve,
            OP_SAVE: self._save,
            OP_DELETE: self._delete,
        }
        self._endpoint = PayloadEndpoint(filt, self._process, payloadIO=factory.payloadIO)
        self.filt = filt

    # ---- plugin API ---------------------------------------------------------------

    def addExtension(self, cls: type, extension: OrmCrudHandlerExtension) -> None:
        """Call extension's hooks for the tuples of cls (this handler's class or a subclass)."""
        if not (isinstance(cls, type) and issubclass(cls, self._cls)):
            raise ValueError(
                f"{self._where}: addExtension({cls!r}, ...) names a class this handler never"
                f" stores; use {self._cls.__name__} or a subclass of it"
            )
        if not isinstance(extension, OrmCrudHandlerExtension):
            raise TypeError(
                f"{self._where}: extension {extension!r} must subclass OrmCrudHandlerExtension"
            )
        extensions = dict(self._extensions)
        extensions[cls] = (*extensions.get(cls, ()), extension)
        self._extensions = extensions

    def createDeclarative(self, session: Session, payloadFilt: dict) -> Any:
        """The tuples a retrieve answers with (runs in the database thread; may be overridden).

        The filt's ``id`` selects one row by primary key; ``selector`` selects rows whose
        columns equal its values; otherwise every row when the handler retrieves all.
        Returns a list of tuples, one tuple, or None.
        """
        ident = payloadFilt.get(ID_KEY)
        if ident is not None:
            row = session.get(self._cls, tuple(ident) if isinstance(ident, list) else ident)
            return [] if row is None else [row]
        query = select(self._cls)
        selector = payloadFilt.get(SELECTOR_KEY)
        if selector is not None:
            if type(selector) is not dict:
                raise OrmCrudRequestError(
                    f"'selector' must be an object of column values, got {selector!r}"
                )
            unknown = sorted(set(selector) - self._columnKeys)
            if unknown:
                raise OrmCrudRequestError(
                    f"'selector' names {unknown}, which are not columns;"
                    f" columns are {sorted(self._columnKeys)}"
                )
            query = query.filter_by(**selector)
        elif not self._retrieveAll:
            raise OrmCrudRequestError(
                "a retrieve needs an 'id' or a 'selector' in its filt"
                " (this handler was created without retrieveAll)"
            )
        pkColumns = [getattr(self._cls, key) for key in self._pkKeys]
        return list(session.scalars(query.order_by(*pkColumns)))

    def shutdown(self) -> None:
        """Stop receiving requests (ones already running still get their response)."""
        self._endpoint.shutdown()

    # ---- requests (reactor thread) --------------------------------------------------

    def _process(
        self,
        envelope: PayloadEnvelope,
        vortexName: str | None = None,
        *,
        sendResponse: Callable[[bytes], defer.Deferred],
        **_: Any,
    ) -> defer.Deferred | None:
        payloadFilt = dict(envelope.filt)
        op: Any = payloadFilt.get(OP_KEY)  # a wire value: _requestProblem checks it
        if op == OP_RESPONSE:
            # A response to a client in this process; it matches our filt too.
            return None
        responseFilt = {**payloadFilt, OP_KEY: OP_RESPONSE}

        def respond(msg: bytes) -> defer.Deferred:
            return sendResponse(msg).addErrback(ignoreClosedLink)

        problem = self._requestProblem(payloadFilt, vortexName)
        if problem is not None:
            respond(makeErrorMsg(responseFilt, *problem))
            return None
        identity = envelope.identity
        refused = refusal(identity, self._required, self._where)
        if refused is not None:
            respond(makeErrorMsg(responseFilt, ERROR_FORBIDDEN, "PermissionError", refused))
            return None

        def failed(failure: Failure) -> bytes:
            error = errorResultForFailure(failure)
            return makeErrorMsg(
                responseFilt, error["error"], error["type"], f"{self._where}: {error['message']}"
            )

        d = threads.deferToThreadPool(
            self._reactor,
            self._reactor.getThreadPool(),
            runAs,
            identity,
            self._runBlocking,
            op,
            envelope,
            payloadFilt,
            responseFilt,
        )
        d.addErrback(failed)
        d.addCallback(respond)
        return d

    def _requestProblem(self, filt: dict, vortexName: str | None) -> tuple[str, str, str] | None:
        """(code, type, message) of an error answering a request that cannot run, or None."""
        if not isValidId(filt.get(MSG_ID_KEY)):
            return (
                ERROR_BAD_REQUEST,
                "ValueError",
                f"{self._where}: missing msgId (a string of 1 to 128 characters)",
            )
        if filt.get(OP_KEY) not in self._ops:
            return (
                ERROR_BAD_REQUEST,
                "ValueError",
                f"{self._where}: op {filt.get(OP_KEY)!r} is not one of"
                f" {[OP_RETRIEVE, OP_SAVE, OP_DELETE]}",
            )
        if self._accept is not None and vortexName not in self._accept:
            return (
                ERROR_REFUSED,
                "PermissionError",
                f"{self._where} accepts requests only from {sorted(self._accept)},"
                f" not from {vortexName!r}",
            )
        return None

    # ---- database work (thread pool) ------------------------------------------------

    def _runBlocking(
        self, op: str, envelope: PayloadEnvelope, payloadFilt: dict, responseFilt: dict
    ) -> bytes:
        """Decode, run op in its own session and encode the response message."""
        where = f"{self._where}, {op}"
        try:
            tuples = decodeTuples(envelope)
        except VortexDecodeError as e:
            return makeErrorMsg(responseFilt, ERROR_BAD_REQUEST, type(e).__name__, f"{where}: {e}")
        session = self._sessionFunctor()
        try:
            # Committed objects keep their values, so responses and hooks need no reload.
            session.expire_on_commit = False
            return self._ops[op](session, tuples, payloadFilt, responseFilt)
        except OrmCrudRequestError as e:
            return makeErrorMsg(responseFilt, ERROR_BAD_REQUEST, type(e).__name__, f"{where}: {e}")
        except Exception as e:
            logger.exception("%s failed; the client is sent an error response", where)
            return makeErrorMsg(responseFilt, ERROR_EXCEPTION, type(e).__name__, f"{where}: {e}")
        finally:
            # Rolls back whatever was not committed.
            session.close()

    def _retrieve(
        self, session: Session, tuples: list, payloadFilt: dict, responseFilt: dict
    ) -> bytes:
        if tuples:
            raise OrmCrudRequestError(
                f"a retrieve carries no tuples, got {len(tuples)}; send tuples with op 'save'"
            )
        result = _asList(self.createDeclarative(session, payloadFilt))
        for tuple_ in result:
            self._callHooks("afterRetrieve", tuple_, result, session, payloadFilt)
        return makeMsg(responseFilt, result)

    def _save(self, session: Session, tuples: list, payloadFilt: dict, responseFilt: dict) -> bytes:
        self._checkTuples(tuples)
        saved: list = []
        created: list = []
        for tuple_ in tuples:
            if self._isNew(tuple_):
                self._callHooks("beforeCreate", tuple_, tuples, session, payloadFilt)
                session.add(tuple_)
                created.append(tuple_)
                saved.append(tuple_)
            else:
                self._callHooks("beforeUpdate", tuple_, tuples, session, payloadFilt)
                saved.append(session.merge(tuple_))
        session.flush()
        for tuple_ in created:
            self._callHooks("afterCreate", tuple_, saved, session, payloadFilt)
        session.flush()
        msg = makeMsg(responseFilt, saved)
        session.commit()
        self._afterCommit("afterUpdateCommit", saved, session, payloadFilt)
        return msg

    def _delete(
        self, session: Session, tuples: list, payloadFilt: dict, responseFilt: dict
    ) -> bytes:
        self._checkTuples(tuples)
        deleted: list = []
        seen: set[int] = set()
        for index, tuple_ in enumerate(tuples):
            row = session.get(self._cls, self._identity(index, tuple_))
            if row is None or id(row) in seen:
                continue
            seen.add(id(row))
            self._callHooks("beforeDelete", row, tuples, session, payloadFilt)
            session.delete(row)
            deleted.append(row)
        msg = makeMsg(responseFilt, deleted)
        session.commit()
        self._afterCommit("afterDeleteCommit", deleted, session, payloadFilt)
        return msg

    def _afterCommit(
        self, hookName: str, tuples: list, session: Session, payloadFilt: dict
    ) -> None:
        """Tell the observable, then run the after-commit hooks."""
        if self._tupleObservable is not None and tuples:
            self._tupleObservable.notifyOfTupleUpdateForTuple(self._cls.tupleName())
        try:
            for tuple_ in tuples:
                self._callHooks(hookName, tuple_, tuples, session, payloadFilt)
        except Exception as e:
            raise AfterCommitHookError(
                f"the changes were committed, but a {hookName} hook raised {type(e).__name__}: {e}"
            ) from e

    def _callHooks(
        self, hookName: str, tuple_: Any, tuples: list, session: Session, payloadFilt: dict
    ) -> None:
        extensions = self._extensions
        for klass in type(tuple_).__mro__:
            for extension in extensions.get(klass, ()):
                getattr(extension, hookName)(tuple_, tuples, session, payloadFilt)

    def _checkTuples(self, tuples: list) -> None:
        for index, tuple_ in enumerate(tuples):
            if not isinstance(tuple_, self._cls):
                raise OrmCrudRequestError(
                    f"tuple {index} is a {type(tuple_).__name__}; this handler stores only"
                    f" {self._cls.tupleName()!r} tuples"
                )

    def _isNew(self, tuple_: Any) -> bool:
        return all(getattr(tuple_, key) is None for key in self._pkKeys)

    def _identity(self, index: int, tuple_: Any) -> Any:
        values = tuple(getattr(tuple_, key) for key in self._pkKeys)
        if any(value is None for value in values):
            raise OrmCrudRequestError(
                f"tuple {index} has no primary key ({', '.join(self._pkKeys)});"
                " only stored tuples can be deleted"
            )
        return values[0] if len(values) == 1 else values


def _asList(result: Any) -> list:
    """What createDeclarative returned, as the response's tuple list."""
    if result is None:
        return []
    if isinstance(result, Tuple):
        return [result]
    return list(result)
