"""Slow down password guessing: an exponentially growing wait per client address.

After ``freeFailures`` failed logins from one address, each further attempt must wait
``baseDelaySeconds * 2**(n - freeFailures)`` seconds after the last failure (capped at
``maxDelaySeconds``); attempts made earlier are refused without checking the password. A
successful login from the address clears its record, and records idle for a day are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

#: Seconds after which a client's failure record is forgotten.
FORGET_AFTER_SECONDS = 24 * 3600.0


@dataclass
class _Failures:
    count: int
    lastFailure: float


class LoginThrottle:
    """Failed-login bookkeeping per client address on ``clock``."""

    def __init__(
        self,
        clock: IReactorTime,
        *,
        freeFailures: int = 3,
        baseDelaySeconds: float = 1.0,
        maxDelaySeconds: float = 900.0,
        maxClients: int = 10000,
    ) -> None:
        self._clock = clock
        self.freeFailures = freeFailures
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self._maxClients = maxClients
        self._failures: dict[str, _Failures] = {}

    def delayAfter(self, failureCount: int) -> float:
        """Seconds a client with ``failureCount`` failures must wait before trying again."""
        if failureCount < self.freeFailures:
            return 0.0
        exponent = min(failureCount - self.freeFailures, 62)
        return min(self.baseDelaySeconds * 2.0**exponent, self.maxDelaySeconds)

    def retryAfter(self, client: str) -> float:
        """Seconds ``client`` must still wait before its next attempt (0 when it may try)."""
        record = self._failures.get(client)
        if record is None:
            return 0.0
        waited = self._clock.seconds() - record.lastFailure
        return max(0.0, self.delayAfter(record.count) - waited)

    def recordFailure(self, client: str) -> None:
        """Count a failed login from ``client``."""
        now = self._clock.seconds()
        if client not in self._failures:
            self._forgetOld(now)
        record = self._failures.setdefault(client, _Failures(0, now))
        record.count += 1
        record.lastFailure = now

    def recordSuccess(self, client: str) -> None:
        """A successful login clears ``client``'s failures."""
        self._failures.pop(client, None)

    def _forgetOld(self, now: float) -> None:
        """Drop stale records, then the oldest ones if the table is still full."""
        stale = [c for c, r in self._failures.items() if now - r.lastFailure > FORGET_AFTER_SECONDS]
        for client in stale:
            del self._failures[client]
        while len(self._failures) >= self._maxClients:
            oldest = min(self._failures, key=lambda c: self._failures[c].lastFailure)
            del self._failures[oldest]
