"""The JSON API of the admin "Logged in" and "Devices" pages.

``/api/live-sessions`` lists every live login session of every site (admin's own, and what
field and office report) and forces a user's logout everywhere; ``/api/devices`` lists the
enrolled devices with whether each is online, and approves or revokes one. They pass the
admin guard (a session, same origin, the session's CSRF token on every change) and the
checks of the Users pages' API (``users_pages.IdentityApiResource``): ``admin`` needed, a
bad body a 400 naming the field, every change logged at INFO with the acting admin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.resource import IResource

from peek_logic_service.admin.users_pages import (
    ApiCall,
    ApiError,
    IdentityApiResource,
    Route,
    bodyValue,
)
from peek_platform.identity.device_extension import DeviceServiceExtension
from peek_platform.identity.devices import DeviceRecord, DeviceState, UnknownDeviceError
from peek_platform.identity.live_sessions import LiveSession
from peek_platform.web.site_auth import SiteAuth
from peek_platform.web.site_sessions import liveSession


def _isoTime(epochSeconds: float) -> str:
    return datetime.fromtimestamp(epochSeconds, UTC).isoformat()


def sessionDocument(session: LiveSession) -> dict[str, Any]:
    """A live session as the Logged in page shows it."""
    return {
        "user": session.userName,
        "userId": session.userId,
        "site": session.site,
        "deviceId": session.deviceId,
        "since": _isoTime(session.since),
        "lastSeen": _isoTime(session.lastSeen),
        "links": session.links,
    }


def _bodyText(call: ApiCall, field: str) -> str:
    """``call.body[field]``: a string that is not empty."""
    value: str = bodyValue(call.body, field, str)
    if not value:
        raise ApiError(400, f"{field} must not be empty", field)
    return value


class DevicesAdmin:
    """The Logged in and Devices pages' operations on logic's devices and live sessions."""

    def __init__(
        self, devices: DeviceServiceExtension, *, now: Callable[[], float] = time.time
    ) -> None:
        self._devices = devices
        self._now = now

    def resources(self, auth: SiteAuth) -> dict[bytes, IResource]:
        """The API's collections, to mount under the admin site's ``/api``; the sessions of
        ``auth`` (the admin site) are listed among the live sessions from now on."""
        self._devices.registry.addLocalSessions(partial(self.siteSessions, auth))
        return {
            b"live-sessions": IdentityApiResource(
                auth,
                [
                    Route(b"GET", "", self.listSessions),
                    Route(b"POST", "force-logout", partial(self.forceLogout, auth)),
                ],
            ),
            b"devices": IdentityApiResource(
                auth,
                [
                    Route(b"GET", "", self.listDevices),
                    Route(b"POST", "approve", partial(self.setState, DeviceState.APPROVED)),
                    Route(b"POST", "revoke", partial(self.setState, DeviceState.REVOKED)),
                ],
            ),
        }

    def siteSessions(self, auth: SiteAuth) -> list[LiveSession]:
        """The live sessions of the admin site ``auth``."""
        now = self._now()
        return [liveSession(auth, session, now) for session in auth.sessions.sessions()]

    # Logged in -----------------------------------------------------------------------------

    def listSessions(self, call: ApiCall) -> list[dict[str, Any]]:
        """``GET /api/live-sessions``: every live session, earliest login first."""
        return [sessionDocument(session) for session in self._devices.registry.sessions()]

    def forceLogout(self, auth: SiteAuth, call: ApiCall) -> dict[str, Any]:
        """``POST /api/live-sessions/force-logout`` ``{"userId"}``: end every session of the
        user on every site now (admin's here; field and office are told at once)."""
        userId = _bodyText(call, "userId")
        ended = auth.endSessions(userIds=[userId], reason=f"forced logout by {call.actor}")
        told = self._devices.forceLogout(userId, call.actor)
        return {
            "message": f"forced logout of {userId}: ended {len(ended)} admin session(s) and "
            f"told {told} field or office service(s) to end theirs",
            "endedHere": len(ended),
            "servicesTold": told,
        }

    # Devices -------------------------------------------------------------------------------

    def listDevices(self, call: ApiCall) -> Deferred[list[dict[str, Any]]]:
        """``GET /api/devices``: every enrolled device, most recently seen first, each with
        whether it is online now."""
        return self._devices.listDevices().addCallback(
            lambda devices: [self.deviceDocument(device) for device in devices]
        )

    def deviceDocument(self, device: DeviceRecord) -> dict[str, Any]:
        """A device as the Devices page shows it; last seen is now-ish while it is in use."""
        registry = self._devices.registry
        lastSeen = max(registry.lastSeen(device.deviceId) or 0.0, device.lastSeen.timestamp())
        return {
            "deviceId": device.deviceId,
            "site": device.site,
            "state": device.state.value,
            "description": device.description,
            "user": device.lastUserName,
            "userId": device.lastUserId,
            "enrolledAt": device.enrolledAt.isoformat(),
            "lastSeen": _isoTime(lastSeen),
            "online": registry.isDeviceOnline(device.deviceId),
        }

    def setState(self, state: DeviceState, call: ApiCall) -> Deferred[dict[str, Any]]:
        """``POST /api/devices/approve`` or ``/revoke`` ``{"deviceId"}``: let the device use
        its site, or end its sessions (its links close) and refuse its logins."""
        deviceId = _bodyText(call, "deviceId")

        def changed(device: DeviceRecord) -> dict[str, Any]:
            who = f" (last used by {device.lastUserName})" if device.lastUserName else ""
            done = (
                "approved"
                if state == DeviceState.APPROVED
                else "revoked: its sessions end and it can no longer log in"
            )
            return {
                "message": f"{device.site} device {deviceId}{who} {done}",
                "device": self.deviceDocument(device),
            }

        def unknown(failure: Failure) -> Failure:
            if failure.check(UnknownDeviceError):
                raise ApiError(404, str(failure.value), "deviceId")
            return failure

        d = self._devices.setState(deviceId, state, call.actor)
        return d.addCallbacks(changed, unknown)
