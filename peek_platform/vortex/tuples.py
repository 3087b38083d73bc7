"""Platform status tuples and the payload filts the services use to report and query them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vortex.Tuple import Tuple, TupleField, addTupleType

#: Filt key shared by every platform status payload (PayloadIO indexes it).
STATUS_KEY = "peek.platform.status"
#: A service reports its own status to logic (one ServiceStatusTuple).
STATUS_REPORT_FILT: dict[str, str] = {"key": STATUS_KEY, "op": "report"}
#: A client (``peek status``) asks logic for the platform view.
STATUS_QUERY_FILT: dict[str, str] = {"key": STATUS_KEY, "op": "query"}
#: Logic's answer to a query (one PlatformStatusTuple, or an error ``result``).
STATUS_SNAPSHOT_FILT: dict[str, str] = {"key": STATUS_KEY, "op": "snapshot"}


class StatusFieldError(ValueError):
    """A status tuple field has the wrong type; names the tuple and the field."""


def _check(tup: Tuple, name: str, types: tuple[type, ...], optional: bool) -> None:
    value = getattr(tup, name, None)
    if value is None and optional:
        return
    if type(value) not in types:
        expected = " or ".join(t.__name__ for t in types) + (" or None" if optional else "")
        raise StatusFieldError(
            f"{type(tup).__tupleType__}.{name} must be {expected}, got {type(value).__name__} "
            f"{value!r:.80}"
        )


@addTupleType
class PluginStatusTuple(Tuple):
    """One plugin on one service: name, version, lifecycle state and failure reason."""

    __tupleType__ = "peek_platform.PluginStatusTuple"

    name: str = TupleField(typingType=str)
    version: str | None = TupleField(typingType=str)
    state: str = TupleField(typingType=str)
    reason: str | None = TupleField(typingType=str)

    def validate(self) -> PluginStatusTuple:
        """Raise StatusFieldError unless every field has its declared type; return self."""
        _check(self, "name", (str,), False)
        _check(self, "version", (str,), True)
        _check(self, "state", (str,), False)
        _check(self, "reason", (str,), True)
        return self


@addTupleType
class ServiceStatusTuple(Tuple):
    """One service process as reported over its link, plus what logic observed of the link."""

    __tupleType__ = "peek_platform.ServiceStatusTuple"

    serviceKey: str = TupleField(typingType=str)
    vortexName: str = TupleField(typingType=str)
    vortexUuid: str = TupleField(typingType=str)
    version: str = TupleField(typingType=str)
    host: str = TupleField(typingType=str)
    pid: int = TupleField(typingType=int)
    startedAt: datetime = TupleField(typingType=datetime)
    plugins: list = TupleField(list, typingType=list)
    #: Set by logic: the link is up now.
    connected: bool = TupleField(False, typingType=bool)
    #: Set by logic: when the current (or last) link came up.
    connectedSince: datetime | None = TupleField(typingType=datetime)
    #: Set by logic: when the link dropped (None while connected).
    disconnectedAt: datetime | None = TupleField(typingType=datetime)
    #: Set by logic: ``host:port`` the link comes from.
    peerAddress: str | None = TupleField(typingType=str)

    def validate(self) -> ServiceStatusTuple:
        """Raise StatusFieldError unless the reported fields have their types; return self."""
        for name in ("serviceKey", "vortexName", "vortexUuid", "version", "host"):
            _check(self, name, (str,), False)
        _check(self, "pid", (int,), False)
        _check(self, "startedAt", (datetime,), False)
        _check(self, "plugins", (list,), False)
        for plugin in self.plugins:
            if not isinstance(plugin, PluginStatusTuple):
                raise StatusFieldError(
                    f"{self.__tupleType__}.plugins must hold PluginStatusTuple, got "
                    f"{type(plugin).__name__}"
                )
            plugin.validate()
        return self

    def toJsonDict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (ISO dates) for ``peek status --json`` and web pages."""
        out: dict[str, Any] = {}
        for name in self.tupleFieldNames():
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif name == "plugins":
                value = [{n: getattr(p, n) for n in p.tupleFieldNames()} for p in value]
            out[name] = value
        return out


@addTupleType
class PlatformStatusTuple(Tuple):
    """Logic's live view of the platform: every service it has heard from, logic first."""

    __tupleType__ = "peek_platform.PlatformStatusTuple"

    generatedAt: datetime = TupleField(typingType=datetime)
    services: list = TupleField(list, typingType=list)

    def validate(self) -> PlatformStatusTuple:
        """Raise StatusFieldError unless the snapshot is well typed; return self."""
        _check(self, "generatedAt", (datetime,), False)
        _check(self, "services", (list,), False)
        for service in self.services:
            if not isinstance(service, ServiceStatusTuple):
                raise StatusFieldError(
                    f"{self.__tupleType__}.services must hold ServiceStatusTuple, got "
                    f"{type(service).__name__}"
                )
            service.validate()
        return self
