"""Logic's registry of the live login sessions on every site, and the orders it sends.

Field and office report their live sessions to logic over their service link: the whole
list of one site, on every login, logout and expiry and every ``REPORT_SECONDS``
(``peek_platform.web.site_sessions``). :class:`LiveSessionRegistry` keeps each report per
reporting link and forgets a link's sessions when the link goes offline; the admin site's
own sessions are added as a local source. The registry answers which devices are online
(the plugins' ``DeviceStatusApiABC``).

:class:`LiveSessionsService` receives the reports and pushes orders the other way: "end the
sessions of these users or devices" (forced logout, a revoked device), sent at once to every
field and office link. A forced logout is also sent to a field or office that links again
after missing it, so a site that was cut off at the time still ends those sessions.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.interfaces import IReactorTime

from peek_platform.services import ALL_SERVICES, FIELD, OFFICE
from peek_plugin_base.logic.DeviceStatusApiABC import DeviceStatusApiABC, DeviceStatusListener
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.SerialiseUtil import VortexDecodeError
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)

#: Filt of a site's report of its live sessions (field and office to logic).
LIVE_SESSIONS_REPORT_FILT = {"key": "peek_platform.identity.liveSessions"}
#: Filt of logic's order to end the sessions of users or devices (logic to field, office).
END_SESSIONS_FILT = {"key": "peek_platform.identity.endSessions"}
#: The services whose sites report sessions and obey the orders.
SESSION_SERVICE_NAMES: frozenset[str] = frozenset({FIELD.vortexName, OFFICE.vortexName})
#: Seconds a forced logout is still sent to a field or office that links after missing it.
FORCED_LOGOUT_REPLAY_SECONDS = 24 * 3600.0
#: Site names by the vortex name of the service that serves them.
_SITES_OF: dict[str, frozenset[str]] = {
    spec.vortexName: frozenset(site.name for site in spec.sites) for spec in ALL_SERVICES
}


class SessionReportRejected(ValueError):
    """A live sessions report is malformed or names a site its sender does not serve."""


@dataclass(frozen=True)
class LiveSession:
    """One live login session as its site reported it (times are epoch seconds)."""

    userName: str
    userId: str
    site: str
    #: The device it logged in from (None on the admin site).
    deviceId: str | None
    #: When the user logged in.
    since: float
    #: The session's last request, or now while it holds an open link.
    lastSeen: float
    #: Open vortex links of the session.
    links: int

    def toDocument(self) -> dict[str, Any]:
        """The session in a report (the site is said once per report)."""
        return {
            "userName": self.userName,
            "userId": self.userId,
            "deviceId": self.deviceId,
            "since": self.since,
            "lastSeen": self.lastSeen,
            "links": self.links,
        }

    @classmethod
    def fromDocument(cls, document: Any, site: str) -> LiveSession:
        """The session a report's entry describes; ``SessionReportRejected`` naming the
        field at fault."""
        if not isinstance(document, dict):
            raise SessionReportRejected("each session must be an object")
        texts = {name: document.get(name) for name in ("userName", "userId")}
        for name, value in texts.items():
            if not isinstance(value, str) or not value or len(value) > 300:
                raise SessionReportRejected(f"{name} must be a text of 1 to 300 characters")
        deviceId = document.get("deviceId")
        if deviceId is not None and (not isinstance(deviceId, str) or len(deviceId) > 64):
            raise SessionReportRejected("deviceId must be null or a text of at most 64 characters")
        numbers: dict[str, float] = {}
        for name in ("since", "lastSeen", "links"):
            value = document.get(name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise SessionReportRejected(f"{name} must be a number")
            if not math.isfinite(value) or value < 0:
                raise SessionReportRejected(f"{name} must be a finite number of at least 0")
            numbers[name] = float(value)
        return cls(
            userName=str(texts["userName"]),
            userId=str(texts["userId"]),
            site=site,
            deviceId=deviceId,
            since=numbers["since"],
            lastSeen=numbers["lastSeen"],
            links=int(numbers["links"]),
        )


def reportDocument(site: str, sessions: Iterable[LiveSession]) -> dict[str, Any]:
    """The report of every live session of ``site``."""
    return {"site": site, "sessions": [session.toDocument() for session in sessions]}


#: ``listener(lastSeen)``: devices no session refers to any more, with when each was last
#: seen (epoch seconds).
DevicesGoneListener = Callable[[dict[str, float]], None]


class LiveSessionRegistry(DeviceStatusApiABC):
    """The live sessions of every site: reported ones per link, plus local sources."""

    def __init__(self) -> None:
        self._reported: dict[tuple[str, str], tuple[LiveSession, ...]] = {}
        self._localSources: list[Callable[[], Iterable[LiveSession]]] = []
        self._online: frozenset[str] = frozenset()
        self._lastSeen: dict[str, float] = {}
        self._statusListeners: list[DeviceStatusListener] = []
        self._goneListeners: list[DevicesGoneListener] = []

    def addLocalSessions(self, source: Callable[[], Iterable[LiveSession]]) -> None:
        """Include ``source()`` in every listing (the admin site's own sessions)."""
        self._localSources.append(source)

    def replace(self, source: str, site: str, sessions: Iterable[LiveSession]) -> None:
        """Make ``sessions`` the live sessions of ``site`` as link ``source`` reports it."""
        self._reported[(source, site)] = tuple(sessions)
        self._changed()

    def forget(self, source: str) -> None:
        """Drop every session link ``source`` reported (it went offline)."""
        for key in [key for key in self._reported if key[0] == source]:
            del self._reported[key]
        self._changed()

    def sessions(self) -> list[LiveSession]:
        """Every live session known now, earliest login first."""
        local = [session for source in self._localSources for session in source()]
        reported = [session for group in self._reported.values() for session in group]
        return sorted(local + reported, key=lambda session: session.since)

    def lastSeen(self, deviceId: str) -> float | None:
        """When a device with a live session was last seen (None: it has none)."""
        return self._lastSeen.get(deviceId)

    def addDevicesGoneListener(self, listener: DevicesGoneListener) -> None:
        """Call ``listener(lastSeen)`` when devices lose their last live session."""
        self._goneListeners.append(listener)

    # DeviceStatusApiABC ---------------------------------------------------------------

    def isDeviceOnline(self, deviceId: str) -> bool:
        """True while one of the device's sessions holds an open link."""
        return deviceId in self._online

    def onlineDeviceIds(self) -> set[str]:
        """Every device online now."""
        return set(self._online)

    def addDeviceStatusListener(self, listener: DeviceStatusListener) -> Callable[[], None]:
        """Call ``listener(deviceId, online)`` on each change; returns the remover."""
        self._statusListeners.append(listener)

        def remove() -> None:
            if listener in self._statusListeners:
                self._statusListeners.remove(listener)

        return remove

    # ---------------------------------------------------------------------------------

    def _changed(self) -> None:
        """Recompute who is online and which devices left; tell the listeners."""
        reported = [session for group in self._reported.values() for session in group]
        lastSeen: dict[str, float] = {}
        for session in reported:
            if session.deviceId is not None:
                seen = lastSeen.get(session.deviceId, 0.0)
                lastSeen[session.deviceId] = max(seen, session.lastSeen)
        online = frozenset(s.deviceId for s in reported if s.deviceId is not None and s.links)
        gone = {d: seen for d, seen in self._lastSeen.items() if d not in lastSeen}
        before, self._online, self._lastSeen = self._online, online, lastSeen
        changes = [(d, True) for d in sorted(online - before)]
        changes += [(d, False) for d in sorted(before - online)]
        for deviceId, isOnline in changes:
            for listener in list(self._statusListeners):
                _safely(listener, deviceId, isOnline)
        if gone:
            for goneListener in list(self._goneListeners):
                _safely(goneListener, gone)


def _safely(listener: Callable[..., Any], *args: Any) -> None:
    """Call a listener; its failure is logged, never passed on to the reporter."""
    try:
        listener(*args)
    except Exception:
        logger.exception("a live sessions listener failed: %r", listener)


class PluginDeviceStatus(DeviceStatusApiABC):
    """One plugin's view of the device status API: its listeners are removed on unload."""

    def __init__(self, api: DeviceStatusApiABC) -> None:
        self._api = api
        self._removers: list[Callable[[], None]] = []

    def isDeviceOnline(self, deviceId: str) -> bool:
        """As the platform's API."""
        return self._api.isDeviceOnline(deviceId)

    def onlineDeviceIds(self) -> set[str]:
        """As the platform's API."""
        return self._api.onlineDeviceIds()

    def addDeviceStatusListener(self, listener: DeviceStatusListener) -> Callable[[], None]:
        """As the platform's API; the listener is also removed by :meth:`release`."""
        remove = self._api.addDeviceStatusListener(listener)
        self._removers.append(remove)
        return remove

    def release(self) -> None:
        """Remove every listener this plugin added (it unloads)."""
        while self._removers:
            self._removers.pop()()


@dataclass
class _ForcedLogout:
    """A forced logout still to reach links that missed it, until ``until``."""

    userIds: tuple[str, ...]
    reason: str
    until: float
    #: Uuids of the field and office links that were sent it.
    sentTo: set[str] = field(default_factory=set)


class LiveSessionsService:
    """Logic's end of the session reports and orders, on ``factory``'s links."""

    def __init__(
        self, registry: LiveSessionRegistry, factory: VortexFactory, clock: IReactorTime
    ) -> None:
        self.registry = registry
        self._factory = factory
        self._clock = clock
        self._endpoint: PayloadEndpoint | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._forced: list[_ForcedLogout] = []
        #: Reports refused so far (malformed, or for a site the sender does not serve).
        self.rejectedReports = 0

    def start(self) -> None:
        """Accept reports from field and office; follow their links going up and down."""
        self._endpoint = PayloadEndpoint(
            LIVE_SESSIONS_REPORT_FILT,
            self._onReport,
            acceptOnlyFromVortex=SESSION_SERVICE_NAMES,
            payloadIO=self._factory.payloadIO,
        )
        self._unsubscribe = [
            self._factory.addOnlineListener(self._linkUp),
            self._factory.addOfflineListener(self._linkDown),
        ]

    def stop(self) -> None:
        """Stop receiving reports."""
        if self._endpoint is not None:
            self._endpoint.shutdown()
            self._endpoint = None
        while self._unsubscribe:
            self._unsubscribe.pop()()

    def endSessions(
        self, *, userIds: Iterable[str] = (), deviceIds: Iterable[str] = (), reason: str
    ) -> int:
        """Tell every field and office to end the sessions of ``userIds`` and ``deviceIds``
        now; the number of service links told. Forced logouts reach later links too."""
        users, devices = tuple(userIds), tuple(deviceIds)
        sentTo = self._send(self._linkedSessionServices(), users, devices, reason)
        if users:
            self._forced = [f for f in self._forced if f.until > self._clock.seconds()]
            until = self._clock.seconds() + FORCED_LOGOUT_REPLAY_SECONDS
            self._forced.append(_ForcedLogout(users, reason, until, sentTo))
        return len(sentTo)

    def _linkedSessionServices(self) -> list[str]:
        return [
            info.uuid
            for info in self._factory.remoteVortexes()
            if not info.isDevice and info.name in SESSION_SERVICE_NAMES
        ]

    def _send(
        self,
        uuids: Iterable[str],
        userIds: tuple[str, ...],
        deviceIds: tuple[str, ...],
        reason: str,
    ) -> set[str]:
        """Send one order to each link in ``uuids``; the uuids it was handed to."""
        document = {"userIds": list(userIds), "deviceIds": list(deviceIds), "reason": reason}
        msg = Payload(filt=dict(END_SESSIONS_FILT), tuples=[document]).toVortexMsg()
        sent: set[str] = set()
        for uuid in set(uuids):
            try:
                self._factory.sendVortexMsgNow(msg, destVortexUuid=uuid)
            except NoVortexException as e:
                logger.info("could not send an end-sessions order to %s: %s", uuid, e)
            else:
                sent.add(uuid)
        return sent

    def _linkUp(self, info: RemoteVortexInfo) -> None:
        if info.isDevice or info.name not in SESSION_SERVICE_NAMES:
            return
        now = self._clock.seconds()
        self._forced = [f for f in self._forced if f.until > now]
        for forced in self._forced:
            if info.uuid not in forced.sentTo:
                forced.sentTo |= self._send([info.uuid], forced.userIds, (), forced.reason)

    def _linkDown(self, info: RemoteVortexInfo, reason: str) -> None:
        if not info.isDevice and info.name in SESSION_SERVICE_NAMES:
            self.registry.forget(info.uuid)

    def _onReport(
        self, envelope: PayloadEnvelope, vortexUuid: str, vortexName: str, **kwargs: Any
    ) -> None:
        if self._factory.remoteVortexByUuid(vortexUuid) is None:
            return  # the link dropped while the report was queued; it reports again
        try:
            site, sessions = parseReport(envelope, vortexName)
        except SessionReportRejected as e:
            self.rejectedReports += 1
            logger.error(
                "Rejected a live sessions report from %s (%s): %s", vortexName, vortexUuid, e
            )
            return
        self.registry.replace(vortexUuid, site, sessions)


def parseReport(envelope: PayloadEnvelope, vortexName: str) -> tuple[str, list[LiveSession]]:
    """The site and sessions of one report; ``SessionReportRejected`` says why not."""
    try:
        tuples = envelope.decodePayload().tuples
    except VortexDecodeError as e:
        raise SessionReportRejected(f"undecodable payload: {e}") from e
    if len(tuples) != 1 or not isinstance(tuples[0], dict):
        raise SessionReportRejected("expected one report object")
    report = tuples[0]
    site = report.get("site")
    if site not in _SITES_OF.get(vortexName, frozenset()):
        raise SessionReportRejected(f"{vortexName} serves no site {site!r}")
    sessions = report.get("sessions")
    if not isinstance(sessions, list):
        raise SessionReportRejected("sessions must be a list")
    return str(site), [LiveSession.fromDocument(entry, str(site)) for entry in sessions]
