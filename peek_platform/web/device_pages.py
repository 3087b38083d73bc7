"""``/device/``: the page a device waiting for approval sees, and its state as JSON.

Under ``httpServer.<site>.deviceEnrolment: approval`` a new browser logs in but its session
is served only these paths (and ``/logout``) until an administrator approves the device
(``SiteAuth.guard``). The waiting page's script asks ``/device/status`` every two seconds,
which asks logic, so approval is noticed within seconds.
"""

from __future__ import annotations

import json
import logging
from typing import cast

from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from peek_platform.identity.devices import DeviceState
from peek_platform.web.login_pages import formArgument, htmlResponse
from peek_platform.web.site_auth import SeeOther, SiteAuth, safeNextPath
from peek_platform.web.site_root import ChildrenOnly
from peek_platform.web.templates import TEMPLATES_DIR, renderTemplate

logger = logging.getLogger(__name__)

#: The waiting page's template.
WAITING_TEMPLATE = TEMPLATES_DIR / "device_waiting.html"


class DeviceWaitingPage(Resource):
    """``GET /device/waiting``: says the device waits for approval; goes on when it may."""

    isLeaf = True

    def __init__(self, auth: SiteAuth, *, title: str) -> None:
        super().__init__()
        self.auth = auth
        self.title = title

    def render_GET(self, request: IRequest) -> bytes:
        """The waiting page, or straight on to ``next`` once the device is approved."""
        nextPath = safeNextPath(formArgument(request, b"next"))
        session = self.auth.sessionFor(request, touch=False)
        if session is None or not session.awaitingApproval:
            return SeeOther(nextPath).render(request)
        body = renderTemplate(
            WAITING_TEMPLATE,
            title=self.title,
            user=session.user,
            deviceId=session.deviceId or "",
            csrfToken=session.csrfToken,
            next=nextPath,
        )
        return htmlResponse(request, 200, body)


class DeviceStatusResource(Resource):
    """``GET /device/status``: ``{"deviceId", "state"}`` of the session's device.

    A waiting session's device is asked of logic at every request, so the page sees its
    approval (the session may then use the site) or its revocation (the session ends). The
    state is ``unknown`` when the device is no longer enrolled.
    """

    isLeaf = True

    def __init__(self, auth: SiteAuth) -> None:
        super().__init__()
        self.auth = auth

    def render_GET(self, request: IRequest) -> bytes | int:
        """The state now; for a waiting device, once logic has answered."""
        session = self.auth.sessionFor(request, touch=False)
        if session is None or session.deviceId is None:
            return _json(request, {"deviceId": None, "state": DeviceState.APPROVED.value})
        deviceId = session.deviceId
        if not session.awaitingApproval:
            return _json(request, {"deviceId": deviceId, "state": DeviceState.APPROVED.value})
        gone: list[bool] = []
        cast(Request, request).notifyFinish().addErrback(lambda _: gone.append(True))

        def answer(state: DeviceState | None) -> None:
            if not gone:
                document = {"deviceId": deviceId, "state": state.value if state else "unknown"}
                request.write(_json(request, document))
                request.finish()

        def unchecked(failure: Failure) -> None:
            logger.info(
                "%s site: could not ask for the state of device %s: %s",
                self.auth.siteName,
                deviceId,
                failure.getErrorMessage(),
            )
            answer(DeviceState.PENDING)

        self.auth.refreshDevice(session).addCallbacks(answer, unchecked)
        return NOT_DONE_YET


def _json(request: IRequest, document: dict) -> bytes:
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    return json.dumps(document).encode()


def devicePages(auth: SiteAuth, *, title: str) -> ChildrenOnly:
    """``/device/``: ``waiting`` and ``status``, to mount behind the site's guard."""
    return ChildrenOnly(
        {b"waiting": DeviceWaitingPage(auth, title=title), b"status": DeviceStatusResource(auth)}
    )
