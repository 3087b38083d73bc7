"""PayloadEndpoint: a filt pattern plus the callback that receives matching envelopes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vortex.PayloadIO import PayloadIO, filtMatches


class PayloadEndpoint:
    """Receives every envelope whose filt contains all of this endpoint's filt items.

    The callback is called as ``callback(payloadEnvelope, vortexUuid=..., vortexName=...,
    sendResponse=..., **kwargs)`` and may return a value, a Deferred or a coroutine.
    """

    def __init__(
        self,
        filt: dict,
        callback: Callable[..., Any],
        acceptOnlyFromVortex: str | Iterable[str] | None = None,
        payloadIO: PayloadIO | None = None,
    ) -> None:
        if type(filt) is not dict or not filt:
            raise ValueError(
                f"PayloadEndpoint filt must be a non-empty dict, got {filt!r};"
                " an empty filt would receive every payload"
            )
        if not callable(callback):
            raise TypeError(f"PayloadEndpoint callback must be callable, got {callback!r}")
        self.filt = filt
        self.callback = callback
        if isinstance(acceptOnlyFromVortex, str):
            acceptOnlyFromVortex = (acceptOnlyFromVortex,)
        self.acceptOnlyFromVortex: frozenset[str] | None = (
            None if acceptOnlyFromVortex is None else frozenset(acceptOnlyFromVortex)
        )
        self._payloadIO = payloadIO if payloadIO is not None else PayloadIO.default()
        self._payloadIO.add(self)

    def accepts(self, filt: dict, vortexName: str | None) -> bool:
        """True if an envelope with filt from the (authenticated) vortexName is for us."""
        if self.acceptOnlyFromVortex is not None and vortexName not in self.acceptOnlyFromVortex:
            return False
        return filtMatches(self.filt, filt)

    def shutdown(self) -> None:
        """Stop receiving envelopes; safe to call more than once and from inside a callback."""
        self._payloadIO.remove(self)

    def __repr__(self) -> str:
        return f"PayloadEndpoint(filt={self.filt!r}, callback={self.callback!r})"
