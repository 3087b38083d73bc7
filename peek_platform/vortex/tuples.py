"""Platform status tuples and the payload filts the services use to report and query them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from peek_platform.vortex.typed_fields import (
    TupleFieldTypeError,
    ValidatedTuple,
    field,
    listField,
    optionalField,
)
from vortex.Tuple import addTupleType

#: Filt key shared by every platform status payload (PayloadIO indexes it).
STATUS_KEY = "peek.platform.status"
#: A service reports its own status to logic (one ServiceStatusTuple).
STATUS_REPORT_FILT: dict[str, str] = {"key": STATUS_KEY, "op": "report"}
#: A client (``peek status``) asks logic for the platform view.
STATUS_QUERY_FILT: dict[str, str] = {"key": STATUS_KEY, "op": "query"}
#: Logic's answer to a query (one PlatformStatusTuple, or an error ``result``).
STATUS_SNAPSHOT_FILT: dict[str, str] = {"key": STATUS_KEY, "op": "snapshot"}


class StatusFieldError(TupleFieldTypeError):
    """A status tuple field has the wrong type; names the tuple and the field."""


class _StatusTuple(ValidatedTuple):
    """A status tuple: ``validate()`` raises StatusFieldError for a mistyped field."""

    fieldTypeError = StatusFieldError


@addTupleType
class PluginStatusTuple(_StatusTuple):
    """One plugin on one service: name, version, lifecycle state, failure reason, timings."""

    __tupleType__ = "peek_platform.PluginStatusTuple"

    name = field(str)
    version = optionalField(str)
    state = field(str)
    reason = optionalField(str)
    #: How long its last ``load()`` and ``start()`` took (None until they ran).
    loadSeconds = optionalField(float)
    startSeconds = optionalField(float)


@addTupleType
class ServiceStatusTuple(_StatusTuple):
    """One service process as reported over its link, plus what logic observed of the link.

    ``validate()`` checks the reported fields; the link fields logic sets are not checked.
    """

    __tupleType__ = "peek_platform.ServiceStatusTuple"

    serviceKey = field(str)
    vortexName = field(str)
    vortexUuid = field(str)
    version = field(str)
    host = field(str)
    pid = field(int)
    startedAt = field(datetime)
    plugins = listField(PluginStatusTuple)
    #: Set by logic: the link is up now.
    connected = field(bool, False, validated=False)
    #: Set by logic: when the current (or last) link came up.
    connectedSince = optionalField(datetime, validated=False)
    #: Set by logic: when the link dropped (None while connected).
    disconnectedAt = optionalField(datetime, validated=False)
    #: Set by logic: ``host:port`` the link comes from.
    peerAddress = optionalField(str, validated=False)

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
class PlatformStatusTuple(_StatusTuple):
    """Logic's live view of the platform: every service it has heard from, logic first."""

    __tupleType__ = "peek_platform.PlatformStatusTuple"

    generatedAt = field(datetime)
    services = listField(ServiceStatusTuple)
