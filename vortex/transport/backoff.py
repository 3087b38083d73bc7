"""Reconnect delay policy: capped exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Longest default wait between two attempts. With 10 s, 500 devices whose field service
#: was SIGKILLed held fresh data again only 11 s after the kill although field was back in
#: about 2 s (bench/chaos.py); attempts against a server that is down are cheap refusals.
DEFAULT_CAP_SECONDS = 2.0


@dataclass
class Backoff:
    """Yields reconnect delays; ``reset()`` after an authenticated link starts over.

    Attempt ``n`` (0-based) waits a uniform random time in ``[0, min(cap, initial * factor**n)]``
    ("full jitter"), so a fleet of clients restarting together does not reconnect in lockstep.
    The default cap (``DEFAULT_CAP_SECONDS``) keeps a device's wait short however long the
    server was down: it links again within 2 s of the server being back.
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = DEFAULT_CAP_SECONDS
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        """Check the policy makes sense before it is used."""
        if not (0 < self.initial <= self.cap) or self.factor < 1:
            raise ValueError(
                f"Backoff needs 0 < initial <= cap and factor >= 1, got initial={self.initial} "
                f"factor={self.factor} cap={self.cap}"
            )

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay for the given attempt number."""
        try:
            return min(self.cap, self.initial * self.factor**attempt)
        except OverflowError:  # a very long outage: the float power overflows, the cap holds
            return self.cap

    def nextDelay(self) -> float:
        """Delay before the next connection attempt; advances the attempt counter."""
        delay = self.rng.uniform(0.0, self.ceiling(self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from ``initial`` (called once a link is authenticated)."""
        self.attempt = 0
