"""A field or office site's side of logic's live sessions registry, and logic's orders.

:class:`SiteSessionsLink` reports every live session of its site to logic (on each login,
logout and expiry, every ``REPORT_SECONDS`` for last seen, and whenever the link to logic
comes up) and ends the sessions logic names in an end-sessions order (forced logout, a
revoked device): their device links then close (``SessionLinks``). When the link to logic
comes up again the site re-checks every session at once, so what changed while it was cut
off (a disabled user, a revoked device) applies without waiting for the 30 s re-check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from peek_platform.identity.live_sessions import (
    END_SESSIONS_FILT,
    LIVE_SESSIONS_REPORT_FILT,
    LiveSession,
    reportDocument,
)
from peek_platform.services import LOGIC
from peek_platform.web.session import Session
from peek_platform.web.site_auth import SiteAuth
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.SerialiseUtil import VortexDecodeError
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)

#: Seconds between reports of a site's live sessions (their last-seen times move on).
REPORT_SECONDS = 5.0
#: Seconds a report waits after a change, so that a burst of changes (many devices linking
#: at once) makes one report.
CHANGE_REPORT_DELAY_SECONDS = 0.5


def liveSession(auth: SiteAuth, session: Session, now: float) -> LiveSession:
    """``session`` of ``auth``'s site as the registry keeps it; seen now while linked."""
    links = len(auth.linksOf(session))
    return LiveSession(
        userName=session.principal.userName,
        userId=session.principal.userId,
        site=auth.siteName,
        deviceId=session.deviceId,
        since=session.createdAt,
        lastSeen=now if links else session.lastSeen,
        links=links,
    )


class SiteSessionsLink:
    """Reports ``auth``'s sessions to logic over ``factory`` and obeys logic's orders.

    A login, a logout, an expiry and a device link opening or closing are reported within
    ``CHANGE_REPORT_DELAY_SECONDS``; otherwise the site reports every ``reportSeconds``.
    """

    def __init__(
        self,
        auth: SiteAuth,
        factory: VortexFactory,
        clock: IReactorTime,
        *,
        reportSeconds: float = REPORT_SECONDS,
    ) -> None:
        self._auth = auth
        self._factory = factory
        self._clock = clock
        self._reportSeconds = reportSeconds
        self._running = False
        self._endpoint: PayloadEndpoint | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._reports: LoopingCall | None = None
        self._soon: IDelayedCall | None = None
        auth.sessions.addStartListener(self._sessionChanged)
        auth.addSessionEndListener(self._sessionChanged)

    def start(self) -> None:
        """Obey logic's orders, and report now, on every change and periodically."""
        self._running = True
        self._endpoint = PayloadEndpoint(
            END_SESSIONS_FILT,
            self._onEndSessions,
            acceptOnlyFromVortex=LOGIC.vortexName,
            payloadIO=self._factory.payloadIO,
        )
        self._unsubscribe = [
            self._factory.addOnlineListener(self._linkUp),
            self._factory.addOfflineListener(self._linkDown),
        ]
        self._reports = LoopingCall(self.report)
        self._reports.clock = self._clock
        self._reports.start(self._reportSeconds, now=True)

    def stop(self) -> None:
        """Stop reporting and obeying (the site is stopping)."""
        self._running = False
        if self._endpoint is not None:
            self._endpoint.shutdown()
            self._endpoint = None
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._reports is not None and self._reports.running:
            self._reports.stop()
        if self._soon is not None and self._soon.active():
            self._soon.cancel()
        self._reports = self._soon = None

    def report(self) -> None:
        """Send logic the site's live sessions now, if linked (a new link reports anyway)."""
        if not self._running or not self._factory.isVortexNameConnected(LOGIC.vortexName):
            return
        now = self._clock.seconds()
        sessions = [liveSession(self._auth, s, now) for s in self._auth.sessions.sessions()]
        document = reportDocument(self._auth.siteName, sessions)
        msg = Payload(filt=dict(LIVE_SESSIONS_REPORT_FILT), tuples=[document]).toVortexMsg()
        d = self._factory.sendVortexMsg(msg, destVortexName=LOGIC.vortexName)
        d.addErrback(self._notSent)

    def _notSent(self, failure: Failure) -> None:
        failure.trap(NoVortexException)
        logger.info(
            "%s site: live sessions not reported, the link to logic dropped: %s",
            self._auth.siteName,
            failure.getErrorMessage(),
        )

    def _sessionChanged(self, session: Session) -> None:
        self._reportSoon()

    def _reportSoon(self) -> None:
        """Report shortly: one report for a burst of changes."""
        if self._running and (self._soon is None or not self._soon.active()):
            self._soon = self._clock.callLater(CHANGE_REPORT_DELAY_SECONDS, self.report)

    def _linkUp(self, info: RemoteVortexInfo) -> None:
        if info.isDevice:
            self._reportSoon()
        elif info.name == LOGIC.vortexName:
            self.report()
            self._auth.revalidateSessions()

    def _linkDown(self, info: RemoteVortexInfo, reason: str) -> None:
        if info.isDevice:
            self._reportSoon()

    def _onEndSessions(self, envelope: PayloadEnvelope, **kwargs: Any) -> None:
        try:
            [order] = envelope.decodePayload().tuples
            userIds = [str(userId) for userId in order["userIds"]]
            deviceIds = [str(deviceId) for deviceId in order["deviceIds"]]
            reason = str(order["reason"])
        except (VortexDecodeError, ValueError, TypeError, KeyError) as e:
            logger.error(
                "%s site: ignored a malformed end-sessions order: %s", self._auth.siteName, e
            )
            return
        self._auth.endSessions(userIds=userIds, deviceIds=deviceIds, reason=reason)
