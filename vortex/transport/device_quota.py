"""Per-link quotas of device (browser) links: live subscriptions, actions and bytes a second.

``VortexFactory`` asks a link's :class:`DeviceLinkQuota` about each message a device sends,
before dispatching it; a refusal closes the link with ``CLOSE_DEVICE_LIMIT``
(``docs/vortex/transport.rst``), so no handler sees the excess. Service links are never
counted. The message shapes counted are those of ``docs/vortex/messaging.rst``.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

#: ``key`` prefix of observable requests (``op`` ``subscribe``/``unsubscribe``/``poll``).
OBSERVABLE_KEY_PREFIX = "vortex.observable:"
#: ``key`` prefixes of requests counted as actions: tuple action pushes and RPC calls.
ACTION_KEY_PREFIX = "vortex.action:"
RPC_CALL_KEY_PREFIX = "vortex.rpc.call:"

#: Names of the three limits in refusal reasons, as the app sites' config keys end.
SUBSCRIPTIONS_LIMIT_NAME = "subscriptionsPerDeviceLink"
ACTIONS_LIMIT_NAME = "actionsPerDeviceLinkPerSecond"
BYTES_LIMIT_NAME = "bytesPerDeviceLinkPerSecond"

#: How long a selector a link stopped observing (unsubscribed, or only polled) still counts
#: against its subscriptions: a field proxy keeps the upstream subscription that long
#: (``TupleDataObservableProxyHandler``'s idle time), so churning subscriptions or polling
#: new selectors cannot make logic hold or serve more than the limit.
RELEASED_HOLD_SECONDS = 30.0

#: Longest device-chosen text (observable key, subId) quoted in a reason, so a hostile
#: device cannot blow up the log line.
_QUOTE_CHARS = 80


@dataclass(frozen=True)
class DeviceQuotaLimits:
    """What one device link may do: hold live subscriptions, push actions, send bytes.

    The defaults leave room for heavy legitimate pages while stopping a runaway one:

    * 1000 subscriptions: a busy page observes tens to a few hundred selectors; a page that
      subscribes in a loop without unsubscribing passes 1000 quickly.
    * 200 actions a second: people tap a few a second, and the browser's offline queue
      replays one action per round trip through logic (5 ms or more on a LAN: at most 200).
    * 4 MiB a second: device messages are small (headers, actions of a few KiB); 4 MiB
      still takes an action carrying a phone photo. One message larger than the limit
      always breaks it, so raise it if devices send bigger ones.
    """

    #: Observable selectors the link may hold: live subscriptions (distinct ``key`` and
    #: ``subId``) plus selectors unsubscribed or polled in the last 30 s.
    subscriptionsPerLink: int = 1000
    #: Tuple action pushes and RPC calls the link may send in one second.
    actionsPerSecond: int = 200
    #: Message bytes the link may send in one second.
    bytesPerSecond: int = 4 * 1024 * 1024
    #: Put before the limit names in refusal reasons: ``httpServer.<site>.`` when the
    #: limits come from an app site's config, so the log names the key to change.
    keyPrefix: str = ""

    def __post_init__(self) -> None:
        """Refuse a limit that is not a positive whole number (it would refuse everything)."""
        for name in ("subscriptionsPerLink", "actionsPerSecond", "bytesPerSecond"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"DeviceQuotaLimits.{name} must be an int >= 1, got {value!r}")


#: The defaults, shared (the dataclass is frozen).
DEFAULT_DEVICE_QUOTA = DeviceQuotaLimits()


class DeviceLinkQuota:
    """The counts of one device link against its :class:`DeviceQuotaLimits`.

    Actions and bytes are counted in the whole second of ``clock.seconds()`` the message
    arrives in (a counter reset when the second changes: no per-message history to keep).
    """

    __slots__ = (
        "_actions",
        "_bytes",
        "_limits",
        "_released",
        "_second",
        "_seconds",
        "_subscriptions",
        "refusedLimit",
    )

    def __init__(self, limits: DeviceQuotaLimits, clock: IReactorTime) -> None:
        self._limits = limits
        self._seconds = clock.seconds
        self._second: int | None = None
        self._actions = 0
        self._bytes = 0
        #: Live subscriptions: (key, subId) → (key, selector text).
        self._subscriptions: dict[tuple[str, str], tuple[str, str]] = {}
        #: Selectors no longer subscribed (or only polled) → when; they count for a while.
        self._released: dict[tuple[str, str], float] = {}
        #: The name of the limit the link broke (``ACTIONS_LIMIT_NAME``...), once it has.
        self.refusedLimit: str | None = None

    def admit(self, filt: dict, size: int) -> str | None:
        """Count a message of ``size`` bytes with header ``filt``; None when it is within the
        limits, else the reason naming the limit broken. The link is closed on a refusal,
        so a refused message may stay counted."""
        limits = self._limits
        second = int(self._seconds())
        if second != self._second:
            self._second = second
            self._actions = 0
            self._bytes = 0
        self._bytes += size
        if self._bytes > limits.bytesPerSecond:
            return self._refusal(
                BYTES_LIMIT_NAME,
                limits.bytesPerSecond,
                f"{self._bytes} bytes sent within one second (the last message {size} bytes)",
            )
        key = filt.get("key")
        if type(key) is not str:
            return None
        if key.startswith(ACTION_KEY_PREFIX) or key.startswith(RPC_CALL_KEY_PREFIX):
            self._actions += 1
            if self._actions > limits.actionsPerSecond:
                return self._refusal(
                    ACTIONS_LIMIT_NAME,
                    limits.actionsPerSecond,
                    f"action {self._actions} within one second pushed to {_quote(key)}",
                )
        elif key.startswith(OBSERVABLE_KEY_PREFIX):
            return self._observe(key, filt)
        return None

    def _observe(self, key: str, filt: dict) -> str | None:
        """Track a subscribe, unsubscribe or poll; refuse one that would make the link hold
        more selectors than its limit."""
        subId = filt.get("subId")
        if type(subId) is not str:  # the handler answers bad-request and subscribes nothing
            return None
        op = filt.get("op")
        entry = (key, subId)
        selector = (key, _selectorText(filt.get("tupleSelector")))
        if op == "subscribe":
            current = self._subscriptions.get(entry)
            if current == selector:
                return None
            if current is None and self._atLimit():
                return self._tooMany(f"subscribe {_quote(subId)} to {_quote(key)}")
            if current is not None:
                self._released[current] = self._seconds()
            self._released.pop(selector, None)
            self._subscriptions[entry] = selector
        elif op == "unsubscribe":
            released = self._subscriptions.pop(entry, None)
            if released is not None:
                self._released[released] = self._seconds()
        elif op == "poll":
            if selector not in self._released and self._atLimit():
                return self._tooMany(f"poll {_quote(subId)} of {_quote(key)}")
            self._released[selector] = self._seconds()
        return None

    def _atLimit(self) -> bool:
        """True when one more selector would pass the limit (expired holds dropped first)."""
        limit = self._limits.subscriptionsPerLink
        if len(self._subscriptions) + len(self._released) < limit:
            return False
        cutoff = self._seconds() - RELEASED_HOLD_SECONDS
        for selector in [s for s, when in self._released.items() if when <= cutoff]:
            del self._released[selector]
        return len(self._subscriptions) + len(self._released) >= limit

    def _tooMany(self, what: str) -> str:
        limit = self._limits.subscriptionsPerLink
        return self._refusal(
            SUBSCRIPTIONS_LIMIT_NAME,
            limit,
            f"{what}: selector {limit + 1} (live, or left/polled in {RELEASED_HOLD_SECONDS:g} s)",
        )

    def _refusal(self, name: str, limit: int, what: str) -> str:
        """The reason for breaking limit ``name``: its key, configured value and what happened."""
        self.refusedLimit = name
        return f"{self._limits.keyPrefix}{name} ({limit}) exceeded: {what}"


def _selectorText(value: object) -> str:
    """A request's tuple selector as comparable text (its JSON form when it has one)."""
    toJson = getattr(value, "toJsonStr", None)
    return toJson() if callable(toJson) else repr(value)


def _quote(text: str) -> str:
    """``text`` quoted for a log line, cut to ``_QUOTE_CHARS`` characters."""
    if len(text) > _QUOTE_CHARS:
        return repr(text[:_QUOTE_CHARS]) + "..."
    return repr(text)
