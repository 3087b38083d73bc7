"""The calls field and office make to logic over their service link: login, and which
users of their live sessions may keep them.

Logic owns identity; a field or office site forwards the user name and password it was
given to logic's ``login`` RPC and gets back the principal, or the reason it was refused.
Only field and office may call it (``acceptOnlyFromVortex``). The answer is a plain
document, so a refusal is an answer, not an error, and never carries the password.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet.defer import Deferred

from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.services import FIELD, LOGIC, OFFICE
from vortex.rpc.RPC import vortexRPC
from vortex.VortexFactory import VortexFactory

#: Seconds a site waits for logic's answer (directories time out well before this).
LOGIN_TIMEOUT_SECONDS = 30.0

#: ``authenticate(userName, password, site) -> Principal``: blocking, run in a thread.
BlockingAuthenticate = Callable[[str, str, str], Principal]


def principalDocument(principal: Principal) -> dict[str, Any]:
    """A JSON-compatible form of ``principal``."""
    return {
        "userId": principal.userId,
        "userName": principal.userName,
        "roles": sorted(principal.roles),
        "permissions": sorted(principal.permissions),
    }


def principalFromDocument(document: dict[str, Any]) -> Principal:
    """The principal a :func:`principalDocument` describes."""
    return Principal(
        userId=str(document["userId"]),
        userName=str(document["userName"]),
        roles=frozenset(str(role) for role in document["roles"]),
        permissions=frozenset(str(name) for name in document["permissions"]),
    )


def _login(authenticate: BlockingAuthenticate, userName: str, password: str, site: str) -> dict:
    """On logic: the outcome of one login as a document (``ok``, ``refused`` or ``unavailable``)."""
    try:
        principal = authenticate(str(userName), str(password), str(site))
    except LoginRefused as e:
        return {"outcome": "refused", "message": str(e)}
    except DirectoryUnavailable as e:
        return {"outcome": "unavailable", "message": str(e)}
    return {"outcome": "ok", "principal": principalDocument(principal)}


def siteRpc(func: Callable[..., Any]) -> Any:
    """A fresh handle on an RPC of logic's that only field and office may call, run in a
    thread on logic (start it on logic, call it elsewhere)."""
    return vortexRPC(
        LOGIC.vortexName,
        timeoutSeconds=LOGIN_TIMEOUT_SECONDS,
        acceptOnlyFromVortex=(FIELD.vortexName, OFFICE.vortexName),
        deferToThread=True,
    )(func)


def loginRpc() -> Any:
    """A fresh handle on logic's login RPC."""
    return siteRpc(_login)


def loginThroughLogic(
    rpc: Any, vortexFactory: Callable[[], VortexFactory]
) -> Callable[[str, str, str], Deferred[Principal]]:
    """``check(userName, password, site)`` asking logic through this process's vortex.

    Fires with the principal, or fails with ``LoginRefused`` / ``DirectoryUnavailable``;
    a logic that cannot be reached is ``DirectoryUnavailable`` too (the login page says so).
    """

    def check(userName: str, password: str, site: str) -> Deferred[Principal]:
        d: Deferred[dict] = rpc.using(vortexFactory())(userName, password, site)

        def outcome(document: dict) -> Principal:
            if document.get("outcome") == "ok":
                return principalFromDocument(document["principal"])
            if document.get("outcome") == "refused":
                raise LoginRefused(str(document.get("message") or "login refused"))
            raise DirectoryUnavailable(str(document.get("message") or "login unavailable"))

        def unreachable(failure: Any) -> Principal:
            if failure.check(LoginRefused, DirectoryUnavailable):
                failure.raiseException()
            raise DirectoryUnavailable(
                "the logic service cannot be reached to check the login; try again shortly"
            )

        return d.addCallback(outcome).addErrback(unreachable)

    return check


#: ``stillAllowed(userIds)``: the users that may keep their sessions, with what they hold
#: now (``None``: keep what the session has).
StillAllowed = Callable[[list[str]], Mapping[str, Principal | None]]


def _stillAllowed(stillAllowed: StillAllowed, userIds: list) -> dict[str, dict | None]:
    """On logic: which of the sessions' ``userIds`` may keep them, as documents."""
    allowed = stillAllowed([str(userId) for userId in userIds])
    return {
        userId: None if principal is None else principalDocument(principal)
        for userId, principal in allowed.items()
    }


def stillAllowedRpc() -> Any:
    """A fresh handle on logic's "which users may keep their sessions" RPC."""
    return siteRpc(_stillAllowed)


def revalidateThroughLogic(
    rpc: Any, vortexFactory: Callable[[], VortexFactory]
) -> Callable[[list[str]], Deferred[dict[str, Principal | None]]]:
    """``revalidate(userIds)`` asking logic which users may keep their sessions."""

    def revalidate(userIds: list[str]) -> Deferred[dict[str, Principal | None]]:
        d: Deferred[dict] = rpc.using(vortexFactory())(userIds)

        def principals(documents: dict) -> dict[str, Principal | None]:
            return {
                str(userId): None if document is None else principalFromDocument(document)
                for userId, document in documents.items()
            }

        return d.addCallback(principals)

    return revalidate
