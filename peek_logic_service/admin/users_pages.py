"""The JSON API of the admin Users and Roles pages: local users, roles and permissions.

``/api/users``, ``/api/roles`` and ``/api/permissions`` pass the admin guard (a session,
same origin, the session's CSRF token on every change) and also need the session's
``admin`` permission. They offer what ``peek user`` and ``peek role`` do, with the same
checks and messages; a refused request answers ``{"error", "field"}``, naming the body
field at fault. Store calls run in the storage thread pool, never on the reactor. Every
change is logged at INFO with the admin who made it; a password travels only in a request
body and is never logged or answered.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET

from peek_platform.identity.passwords import checkPasswordPolicy
from peek_platform.identity.permissions import (
    ADMIN_PERMISSION,
    IdentityError,
    Permission,
    checkPermissionNames,
)
from peek_platform.identity.store import (
    IdentityStore,
    UnknownRoleError,
    UnknownUserError,
    UserExistsError,
    UserRecord,
    checkName,
    checkPermissionSyntax,
)
from peek_platform.web.site_auth import SiteAuth

logger = logging.getLogger(__name__)

#: The largest request body accepted (a role's permissions are the longest).
MAX_BODY_BYTES = 64 * 1024
#: ``inThread(fn, *args)``: run blocking ``fn`` in the storage thread pool.
InThread = Callable[..., Deferred[Any]]


class ApiError(Exception):
    """A refused request: its HTTP status, what is wrong and the body field at fault."""

    def __init__(self, code: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field

    def document(self) -> dict[str, str]:
        """The answer's body: ``{"error"}`` and, when one is at fault, ``{"field"}``."""
        answer = {"error": str(self)}
        if self.field is not None:
            answer["field"] = self.field
        return answer


@dataclass(frozen=True)
class ApiCall:
    """One request to the API: who makes it and its JSON body (``{}`` for a ``GET``)."""

    #: The admin's ``userId`` (``local:alice``, ``recovery:admin``...), for the log.
    actor: str
    body: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The user or role the call is about: ``body["name"]``."""
        name: str = bodyValue(self.body, "name", str)
        return name


@dataclass(frozen=True)
class Route:
    """One method and path of a collection and the handler answering it."""

    method: bytes
    #: The path below the collection ("" for the collection itself).
    path: str
    #: Answers the call with a document, or a Deferred of it; a change's has ``"message"``.
    handler: Callable[[ApiCall], Any]
    #: The status of a success.
    code: int = 200
    #: The body field listing roles, when an unknown role is one of those (400) rather
    #: than the role the call is about (404).
    roleField: str | None = None


@contextlib.contextmanager
def blame(field: str) -> Iterator[None]:
    """Turn an ``IdentityError`` raised inside into a 400 naming ``field``."""
    try:
        yield
    except IdentityError as e:
        raise ApiError(400, str(e), field) from e


_JSON_KINDS: dict[type, str] = {str: "a string", bool: "true or false", list: "a list"}


def bodyValue(body: Mapping[str, Any], field: str, kind: type, default: Any = ...) -> Any:
    """``body[field]`` when it is of ``kind``; ``default`` when absent, if one is given."""
    if field not in body:
        if default is ...:
            raise ApiError(400, f"{field} is missing", field)
        return default
    value = body[field]
    if not isinstance(value, kind):
        raise ApiError(400, f"{field} must be {_JSON_KINDS[kind]}", field)
    return value


def bodyNames(body: Mapping[str, Any], field: str) -> list[str]:
    """``body[field]`` as a list of strings (absent: empty)."""
    values = bodyValue(body, field, list, [])
    if not all(isinstance(value, str) for value in values):
        raise ApiError(400, f"{field} must be a list of strings", field)
    return values


def bodyRoles(body: Mapping[str, Any]) -> list[str]:
    """The role names of ``body["roles"]``, each a valid name (existence is the store's)."""
    roles = bodyNames(body, "roles")
    with blame("roles"):
        for role in roles:
            checkName("role", role)
    return roles


def bodyPassword(body: Mapping[str, Any]) -> str:
    """``body["password"]`` when the password policy accepts it."""
    password: str = bodyValue(body, "password", str)
    with blame("password"):
        checkPasswordPolicy(password)
    return password


def namesText(names: Sequence[str]) -> str:
    """Names for a message, as ``peek user`` prints them."""
    return ", ".join(names) if names else "(none)"


def userDocument(user: UserRecord) -> dict[str, Any]:
    """A user as the API answers it: never the password hash, which the record lacks."""
    return {**asdict(user), "created": user.created.isoformat(), "source": "local"}


def readBody(request: IRequest) -> Mapping[str, Any]:
    """The request's JSON object body; ``ApiError`` when it is too large or not one."""
    raw = request.content.read(MAX_BODY_BYTES + 1) if request.content is not None else b""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as e:
        raise ApiError(400, f"the request body is not JSON: {e}") from e
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def writeJson(request: IRequest, code: int, document: object) -> None:
    """Answer ``document`` as uncached JSON with status ``code`` and finish the request."""
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    request.write(json.dumps(document).encode())
    request.finish()


class IdentityApiResource(Resource):
    """One collection of the API (``/api/users``...): routes by method and path below it.

    Answers when the handler's Deferred fires; a refused request gets its ``ApiError``,
    anything unexpected a 500 (logged with its traceback). After a change the site's
    sessions are re-checked at once, so a disabled user's admin sessions end now.
    """

    isLeaf = True

    def __init__(self, auth: SiteAuth, routes: Sequence[Route]) -> None:
        super().__init__()
        self.auth = auth
        self.routes = tuple(routes)

    def render(self, request: IRequest) -> int:
        """Answer the request when its handler is done."""
        gone: list[bool] = []
        cast(Request, request).notifyFinish().addErrback(lambda _: gone.append(True))

        def answer(result: tuple[int, object]) -> None:
            if not gone:
                writeJson(request, *result)

        defer.maybeDeferred(self._answer, request).addErrback(self._refusal, request).addCallback(
            answer
        )
        return NOT_DONE_YET

    def _answer(self, request: IRequest) -> Deferred[tuple[int, object]]:
        session = self.auth.sessionFor(request, touch=False)
        if session is None or not session.principal.has(ADMIN_PERMISSION):
            raise ApiError(403, f"this needs the {ADMIN_PERMISSION!r} permission")
        route = self._route(request)
        body = readBody(request) if route.method == b"POST" else {}
        call = ApiCall(session.principal.userId, body)

        def done(document: Any) -> tuple[int, object]:
            if route.method != b"GET":
                logger.info("%s (by %s on the admin site)", document["message"], call.actor)
                self.auth.revalidateSessions()
            return route.code, document

        d = defer.maybeDeferred(route.handler, call)
        d.addErrback(_storeRefusal, route.roleField)
        return d.addCallback(done)

    def _route(self, request: IRequest) -> Route:
        """The route of the request's method and path."""
        path = b"/".join(request.postpath or []).rstrip(b"/")
        matching = [route for route in self.routes if route.path.encode() == path]
        for route in matching:
            if route.method == request.method:
                return route
        if not matching:
            raise ApiError(404, "no such path")
        allowed = [route.method for route in matching]
        request.setHeader(b"Allow", b", ".join(allowed))
        raise ApiError(405, f"use {', '.join(m.decode() for m in allowed)} on this path")

    @staticmethod
    def _refusal(failure: Failure, request: IRequest) -> tuple[int, object]:
        if failure.check(ApiError):
            error = cast(ApiError, failure.value)
            return error.code, error.document()
        logger.error(
            "admin site: %s %s failed",
            request.method.decode("ascii", "replace"),
            request.path.decode("ascii", "replace"),
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )
        return 500, {"error": "the request failed unexpectedly; see the logic service's log"}


def _storeRefusal(failure: Failure, roleField: str | None) -> Failure:
    """The store's refusals as ``ApiError``: unknown user 404, unknown role 404 (or 400
    naming ``roleField``), a taken name 409, any other (a concurrent change) 409."""
    error = failure.value
    if not isinstance(error, IdentityError):
        return failure
    if isinstance(error, UnknownRoleError) and roleField is not None:
        raise ApiError(400, str(error), roleField) from error
    if isinstance(error, UnknownUserError | UnknownRoleError):
        raise ApiError(404, str(error)) from error
    field = "name" if isinstance(error, UserExistsError) else None
    raise ApiError(409, str(error), field) from error


class IdentityAdmin:
    """The Users and Roles pages' operations on logic's identity store, off the reactor.

    ``permissions()`` gives the permissions a role may grant (the platform's and the
    enabled plugins'); it runs on the reactor thread.
    """

    def __init__(
        self,
        store: IdentityStore,
        *,
        inThread: InThread,
        permissions: Callable[[], Mapping[str, Permission]],
    ) -> None:
        self._store = store
        self._inThread = inThread
        self._permissions = permissions

    def resources(self, auth: SiteAuth) -> dict[bytes, IResource]:
        """The API's collections, to mount under the admin site's ``/api``."""
        return {
            b"users": IdentityApiResource(
                auth,
                [
                    Route(b"GET", "", self.listUsers),
                    Route(b"POST", "", self.addUser, code=201, roleField="roles"),
                    Route(b"POST", "enabled", self.setEnabled),
                    Route(b"POST", "password", self.setPassword),
                    Route(b"POST", "roles", self.setRoles, roleField="roles"),
                    Route(b"POST", "delete", self.deleteUser),
                ],
            ),
            b"roles": IdentityApiResource(
                auth,
                [
                    Route(b"GET", "", self.listRoles),
                    Route(b"POST", "", self.setRole),
                    Route(b"POST", "delete", self.deleteRole),
                ],
            ),
            b"permissions": IdentityApiResource(auth, [Route(b"GET", "", self.listPermissions)]),
        }

    # Users ---------------------------------------------------------------------------------

    def listUsers(self, call: ApiCall) -> Deferred[list[dict[str, Any]]]:
        """``GET /api/users``: every local user, by name."""
        d = self._inThread(self._store.listUsers)
        return d.addCallback(lambda users: [userDocument(user) for user in users])

    def addUser(self, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/users`` ``{"name", "password", "roles"}``: add an enabled user."""
        name = call.name
        with blame("name"):
            checkName("user", name)
        roles = bodyRoles(call.body)
        password = bodyPassword(call.body)

        def added(user: UserRecord) -> dict[str, Any]:
            message = f"added user {user.name} with roles {namesText(user.roles)}"
            return {"message": message, "user": userDocument(user)}

        return self._inThread(self._store.addUser, name, password, roles).addCallback(added)

    def setEnabled(self, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/users/enabled`` ``{"name", "enabled"}``: let the user log in, or not."""
        name = call.name
        enabled: bool = bodyValue(call.body, "enabled", bool)
        message = (
            f"user {name} enabled" if enabled else f"user {name} disabled: its logins are refused"
        )
        d = self._inThread(self._store.setEnabled, name, enabled)
        return d.addCallback(lambda _: {"message": message})

    def setPassword(self, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/users/password`` ``{"name", "password"}``: set a new password."""
        name = call.name
        d = self._inThread(self._store.setPassword, name, bodyPassword(call.body))
        return d.addCallback(lambda _: {"message": f"password of user {name} changed"})

    def setRoles(self, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/users/roles`` ``{"name", "roles"}``: exactly the roles the user holds."""
        name = call.name
        d = self._inThread(self._store.setUserRoles, name, bodyRoles(call.body))
        return d.addCallback(
            lambda roles: {"message": f"user {name} now holds roles {namesText(roles)}"}
        )

    def deleteUser(self, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/users/delete`` ``{"name"}``: remove the user and its roles."""
        name = call.name
        d = self._inThread(self._store.deleteUser, name)
        return d.addCallback(lambda _: {"message": f"deleted user {name}"})

    # Roles ---------------------------------------------------------------------------------

    def listRoles(self, call: ApiCall) -> Deferred[list[dict[str, Any]]]:
        """``GET /api/roles``: every role with its description and permissions, by name."""
        d = self._inThread(self._store.listRoles)
        return d.addCallback(lambda roles: [asdict(role) for role in roles])

    def setRole(self, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/roles`` ``{"name", "permissions", "description"}``: make the
        permissions exactly what the role grants, creating it if needed; without a
        description the role keeps its own."""
        name = call.name
        with blame("name"):
            checkName("role", name)
        permissions = self.checkPermissions(bodyNames(call.body, "permissions"))
        description: str | None = bodyValue(call.body, "description", str, None)
        d = self._inThread(self._store.setRolePermissions, name, permissions, description)
        return d.addCallback(
            lambda role: {
                "message": f"role {role.name} grants {', '.join(role.permissions)}",
                "role": asdict(role),
            }
        )

    def deleteRole(self, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/roles/delete`` ``{"name"}``: delete the role, taking it from its
        holders."""
        name = call.name

        def deleted(holders: tuple[str, ...]) -> dict[str, Any]:
            taken = f"; taken from users {', '.join(holders)}" if holders else ""
            return {"message": f"deleted role {name}{taken}", "takenFrom": list(holders)}

        return self._inThread(self._store.deleteRole, name).addCallback(deleted)

    def checkPermissions(self, names: Iterable[str]) -> list[str]:
        """``names`` when there is at least one and each is a known permission."""
        names = list(names)
        with blame("permissions"):
            if not names:
                raise IdentityError("a role must grant at least one permission")
            for name in names:
                checkPermissionSyntax(name)
            checkPermissionNames(names, self._permissions())
        return names

    # Permissions ---------------------------------------------------------------------------

    def listPermissions(self, call: ApiCall) -> list[dict[str, str]]:
        """``GET /api/permissions``: every permission a role may grant, with its meaning."""
        return [asdict(permission) for permission in self._permissions().values()]
