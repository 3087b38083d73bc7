"""Frame layer: the encoded payload (body) and the envelope header that routes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from vortex.RequestIdentity import RequestIdentity
from vortex.serialise import tags
from vortex.serialise.decode import decodeRooted, decodeTupleList
from vortex.serialise.encode import MAX_SAFE_INT, encodeRooted, encodeTupleList
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError

_VERSION = tags.WIRE_FORMAT_VERSION
_DATETIME_TAG = tags.DATETIME
_DUMPS_OPTIONS = orjson.OPT_STRICT_INTEGER
_BODY_ORDER = ("v", "filt", "tuples", "result", "date")
_HEADER_ORDER = ("v", "filt", "destVortexName", "destVortexUuid", "result", "date")
_BODY_KEYS = frozenset(_BODY_ORDER)
#: ``identity`` is optional: only a proxy forwarding a device's request writes it.
_HEADER_KEYS = frozenset((*_HEADER_ORDER, "identity"))
_MISSING = object()
_orjsonLoads = orjson.loads
_orjsonDumps = orjson.dumps


class PayloadParts(NamedTuple):
    """The decoded content of an encoded payload."""

    filt: dict
    tuples: list
    result: Any
    date: datetime | None


_newPayloadParts = tuple.__new__  # skips the NamedTuple's generated __new__ (hot path)


class EnvelopeParts(NamedTuple):
    """The decoded header of a vortex message, plus its still-encoded body."""

    filt: dict
    destVortexName: str | None
    destVortexUuid: str | None
    result: Any
    date: datetime | None
    encodedPayload: bytes | None
    identity: RequestIdentity | None = None


def _dumps(obj: Any, root: str) -> bytes:
    try:
        return orjson.dumps(obj, option=_DUMPS_OPTIONS)
    except orjson.JSONEncodeError as e:
        raise VortexEncodeError(f"JSON encoding failed: {e}", root) from None


def _loads(data: bytes, root: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise VortexDecodeError(f"not valid JSON: {e}", root) from None


def _checkFilt(filt: Any, root: str) -> None:
    if type(filt) is not dict:
        raise VortexEncodeError(f"filt must be a dict, got {type(filt).__qualname__}", root)


def _checkDate(value: Any, root: str) -> None:
    if value is not None and type(value) is not datetime:
        raise VortexEncodeError(f"date must be a datetime or None, got {type(value)}", root)


def encodePayload(filt: dict, tuples: list, result: Any, date: datetime | None) -> bytes:
    """Encode a payload body: ``{"v":1,"filt":..,"tuples":[..],"result":..,"date":..}``."""
    if type(tuples) is not list:
        tuples = list(tuples)
    return _dumps(
        {
            "v": _VERSION,
            "filt": _wireFilt(filt, "payload.filt"),
            "tuples": encodeTupleList(tuples, "payload.tuples"),
            "result": _wireResult(result, "payload.result"),
            "date": wireDate(date, "payload.date"),
        },
        "payload",
    )


def _checkObject(obj: Any, allowed: frozenset, root: str) -> None:
    if type(obj) is not dict:
        raise VortexDecodeError("must be a JSON object", root)
    version = obj.get("v", _MISSING)
    if type(version) is not int or version != _VERSION:
        shown = "missing" if version is _MISSING else repr(version)[:40]
        raise VortexDecodeError(
            f"unsupported wire format version {shown}; this side speaks v={_VERSION}", root + ".v"
        )
    if not obj.keys() <= allowed:
        extra = sorted(k[:80] for k in obj.keys() - allowed)[:5]
        raise VortexDecodeError(f"unknown key(s) {extra}; allowed are {sorted(allowed)}", root)


def _decodeFilt(obj: dict, root: str) -> dict:
    raw = obj.get("filt", _MISSING)
    if type(raw) is not dict:
        raise VortexDecodeError("filt must be present and be an object", root)
    filt = decodeRooted(raw, root)
    if type(filt) is not dict:
        raise VortexDecodeError("filt must decode to a dict, not a tuple", root)
    return filt


def _decodeDate(obj: dict, root: str) -> datetime | None:
    value = decodeRooted(obj.get("date"), root)
    if value is not None and type(value) is not datetime:
        raise VortexDecodeError("date must be a ~dt tagged datetime or null", root)
    return value


def decodePayload(data: bytes) -> PayloadParts:
    """Decode a payload body; raises VortexDecodeError (only) on any bad input."""
    if type(data) is not bytes:
        raise VortexDecodeError(f"encoded payload must be bytes, got {type(data).__qualname__}")
    try:
        obj = _orjsonLoads(data)
    except orjson.JSONDecodeError as e:
        raise VortexDecodeError(f"not valid JSON: {e}", "payload") from None
    if type(obj) is dict and obj.keys() <= _BODY_KEYS:
        if tuple(obj) == _BODY_ORDER:  # as every writer we know orders it: one unpack
            version, filt, tuples, result, date = obj.values()
        else:
            get = obj.get
            version, filt, tuples, result, date = (
                get("v"),
                get("filt"),
                get("tuples"),
                get("result"),
                get("date"),
            )
        if (
            type(version) is int
            and version == _VERSION
            and type(filt) is dict
            and _isPlainWire(filt)
            and type(tuples) is list
            and (type(result) is not list and (type(result) is not dict or _isPlainWire(result)))
        ):
            return _newPayloadParts(
                PayloadParts,
                (
                    filt,
                    decodeTupleList(tuples, "payload.tuples"),
                    result,
                    None if date is None else _decodeDate(obj, "payload.date"),
                ),
            )
    _checkObject(obj, _BODY_KEYS, "payload")
    tuples = obj.get("tuples", _MISSING)
    if type(tuples) is not list:
        raise VortexDecodeError("tuples must be present and be an array", "payload.tuples")
    return PayloadParts(
        filt=_decodeFilt(obj, "payload.filt"),
        tuples=decodeTupleList(tuples, "payload.tuples"),
        result=decodeRooted(obj.get("result"), "payload.result"),
        date=_decodeDate(obj, "payload.date"),
    )


def _checkName(value: Any, root: str, error: type[Exception]) -> None:
    if value is not None and type(value) is not str:
        raise error(f"must be a string or null, got {type(value).__qualname__}", root)


# ---- fast paths ------------------------------------------------------------------------
# Routing headers are nearly always flat: a filt of strings and numbers, a scalar (or no)
# result, a UTC date. Such values are their own wire form, so they skip the recursive
# codec; anything else takes the general path, which also produces the located errors.

_FLOAT_MAX = 1.7976931348623157e308


def _isPlainWire(obj: dict) -> bool:
    """True when a parsed JSON object decodes to itself: no tag keys, no nested values."""
    for key, value in obj.items():
        if key[:1] == "~" or type(value) is dict or type(value) is list:
            return False
    return True


def _isPlainValue(value: Any) -> bool:
    """True when a Python value encodes to itself (str, None, bool, safe int, finite float)."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return -MAX_SAFE_INT <= value <= MAX_SAFE_INT
    if kind is float:
        return -_FLOAT_MAX <= value <= _FLOAT_MAX
    return False


def _isPlainDict(obj: dict) -> bool:
    """True when a dict of Python values encodes to itself (str keys, no ``~`` prefix)."""
    for key, value in obj.items():
        if type(key) is not str or key[:1] == "~":
            return False
        kind = type(value)
        if kind is str or value is None or kind is bool:
            continue
        if kind is int:
            if -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
                continue
        elif kind is float and -_FLOAT_MAX <= value <= _FLOAT_MAX:
            continue
        return False
    return True


def _wireFilt(filt: Any, root: str) -> Any:
    if type(filt) is dict and _isPlainDict(filt):
        return filt
    _checkFilt(filt, root)
    return encodeRooted(filt, root)


def _wireResult(result: Any, root: str) -> Any:
    if _isPlainValue(result) or (type(result) is dict and _isPlainDict(result)):
        return result
    return encodeRooted(result, root)


def wireDate(date: datetime | None, root: str = "header.date") -> Any:
    """A date's wire form (``{"~dt": ...}`` or None); VortexEncodeError for non-datetimes."""
    if date is None:
        return None
    if type(date) is datetime:
        tz = date.tzinfo
        if tz is None or tz is UTC:
            return {_DATETIME_TAG: date}  # orjson writes the same text as isoformat()
    _checkDate(date, root)
    return encodeRooted(date, root)


def encodeEnvelope(
    filt: dict,
    destVortexName: str | None,
    destVortexUuid: str | None,
    result: Any,
    date: datetime | None,
    encodedPayload: bytes | None,
) -> bytes:
    """Encode a vortex message: header JSON, then (if any) LF and the untouched payload body."""
    return encodeEnvelopeWire(
        filt, destVortexName, destVortexUuid, result, wireDate(date), encodedPayload
    )


def encodeEnvelopeWire(
    filt: dict,
    destVortexName: str | None,
    destVortexUuid: str | None,
    result: Any,
    wireDateValue: dict | None,
    encodedPayload: bytes | None,
    identity: RequestIdentity | None = None,
) -> bytes:
    """:func:`encodeEnvelope` with the date already in wire form (see :func:`wireDate`).

    Lets a proxy forward a received date without parsing it, and attach the ``identity``
    of the device it forwards for.
    """
    if destVortexName is not None and type(destVortexName) is not str:
        _checkName(destVortexName, "header.destVortexName", VortexEncodeError)
    if destVortexUuid is not None and type(destVortexUuid) is not str:
        _checkName(destVortexUuid, "header.destVortexUuid", VortexEncodeError)
    if type(filt) is not dict or not _isPlainDict(filt):
        filt = _wireFilt(filt, "header.filt")
    if result is not None and type(result) is not str:
        result = _wireResult(result, "header.result")
    fields = {
        "v": _VERSION,
        "filt": filt,
        "destVortexName": destVortexName,
        "destVortexUuid": destVortexUuid,
        "result": result,
        "date": wireDateValue,
    }
    try:
        header = _orjsonDumps(fields, option=_DUMPS_OPTIONS)
        if identity is not None:  # spliced: its JSON is made once per identity
            header = header[:-1] + b',"identity":' + identity.wireJson() + b"}"
    except orjson.JSONEncodeError as e:
        raise VortexEncodeError(f"JSON encoding failed: {e}", "header") from None
    if encodedPayload is None:
        return header
    if type(encodedPayload) is not bytes or encodedPayload[:1] != b"{":
        raise VortexEncodeError("encodedPayload must be bytes holding a JSON object", "body")
    return header + b"\n" + encodedPayload


_MSG_HEAD = b'{"v":%d,"filt":' % _VERSION
_EMPTY_FILT_HEAD = _MSG_HEAD + b"{}"


def encodeEnvelopeTail(
    destVortexName: str | None,
    destVortexUuid: str | None,
    result: Any,
    wireDateValue: dict | None,
    encodedPayload: bytes | None,
) -> bytes:
    """What follows the filt in :func:`encodeEnvelopeWire`'s bytes for these values, for any
    filt: ``envelopeWithTail(encodeFilt(filt), tail)`` gives the same bytes as
    ``encodeEnvelopeWire(filt, ...)``, so a message sent to many peers with a filt each is
    encoded once (an observable's update to every subscriber)."""
    whole = encodeEnvelopeWire(
        {}, destVortexName, destVortexUuid, result, wireDateValue, encodedPayload
    )
    return whole[len(_EMPTY_FILT_HEAD) :]


def envelopeWithTail(filtJson: bytes, tail: bytes) -> bytes:
    """A whole message from a filt's JSON (:func:`encodeFilt`) and a tail
    (:func:`encodeEnvelopeTail`)."""
    return b"".join((_MSG_HEAD, filtJson, tail))


_MSG_HEADER_TAIL = b',"destVortexName":null,"destVortexUuid":null,"result":null,"date":null}\n'
_MSG_TUPLES = b',"tuples":'
_MSG_BODY_TAIL = b',"result":null,"date":null}'


def isPlainFilt(filt: Any) -> bool:
    """True when a filt is written as is: a dict of str, None, bool and JSON-safe numbers."""
    return type(filt) is dict and _isPlainDict(filt)


def encodeFilt(filt: dict) -> bytes:
    """A filt's JSON, as it appears in a header (for callers that splice messages)."""
    return _dumps(_wireFilt(filt, "header.filt"), "header.filt")


def encodeMessage(filt: dict, tuples: list) -> bytes:
    """A whole message (header and body) with this filt and tuples, no result and no date.

    The same bytes as ``encodeEnvelope(filt, None, None, None, None, encodePayload(filt,
    tuples, None, None))``, with the filt encoded once (the request/response hot path).
    """
    return encodeMessageWithFilt(encodeFilt(filt), tuples)


def encodeMessageWithFilt(
    filtJson: bytes, tuples: list, identity: RequestIdentity | None = None
) -> bytes:
    """:func:`encodeMessage` with the filt already encoded (see :func:`encodeFilt`), sent for
    ``identity`` when one is given."""
    tuplesJson = _dumps(encodeTupleList(tuples, "payload.tuples"), "payload.tuples")
    headerTail = (
        _MSG_HEADER_TAIL
        if identity is None
        else _MSG_HEADER_TAIL[:-2] + b',"identity":' + identity.wireJson() + b"}\n"
    )
    return b"".join(
        (
            _MSG_HEAD,
            filtJson,
            headerTail,
            _MSG_HEAD,
            filtJson,
            _MSG_TUPLES,
            tuplesJson,
            _MSG_BODY_TAIL,
        )
    )


def parseDate(dateText: str) -> datetime:
    """Parse the text of a header's ``{"~dt": ...}``; VortexDecodeError when it is not valid."""
    value = decodeRooted({tags.DATETIME: dateText}, "header.date")
    if type(value) is not datetime:
        raise VortexDecodeError("date must be a ~dt tagged datetime or null", "header.date")
    return value


def decodeHeader(vortexMsg: bytes) -> tuple:
    """Decode a vortex message's header, leaving a ``~dt`` date as its text; body stays encoded.

    Returns a plain tuple of the :class:`EnvelopeParts` fields, in that order (no NamedTuple:
    hot path), except that the date may still be its wire text (a str).
    An ``identity`` is checked and decoded here too (``RequestIdentity.fromWire``).

    Everything but the date's text is validated here; :func:`parseDate` checks that.
    """
    if type(vortexMsg) is not bytes:
        if not isinstance(vortexMsg, (bytearray, memoryview)):
            raise VortexDecodeError(
                f"vortex message must be bytes, got {type(vortexMsg).__qualname__}"
            )
        vortexMsg = bytes(vortexMsg)
    split = vortexMsg.find(b"\n")
    if split < 0:
        headerBytes, body = vortexMsg, None
    else:
        headerBytes, body = vortexMsg[:split], vortexMsg[split + 1 :]
        if body[:1] != b"{":
            raise VortexDecodeError("body after the header line must be a JSON object", "body")
    try:
        header = _orjsonLoads(headerBytes)
    except orjson.JSONDecodeError as e:
        raise VortexDecodeError(f"not valid JSON: {e}", "header") from None
    if type(header) is dict and header.keys() <= _HEADER_KEYS:
        if tuple(header) == _HEADER_ORDER:  # as every writer we know orders it: one unpack
            version, filt, name, uuid, result, date = header.values()
        else:
            get = header.get
            version, filt, name, uuid, result, date = (
                get("v"),
                get("filt"),
                get("destVortexName"),
                get("destVortexUuid"),
                get("result"),
                get("date"),
            )
        plain = (
            version == _VERSION
            and type(version) is int
            and type(filt) is dict
            and (name is None or type(name) is str)
            and (uuid is None or type(uuid) is str)
            and type(result) is not list
            and (type(result) is not dict or _isPlainWire(result))
        )
        if plain:
            for key, value in filt.items():
                if key[:1] == "~" or type(value) is dict or type(value) is list:
                    plain = False
                    break
        if plain:
            wireIdentity = header.get("identity")
            identity = None if wireIdentity is None else RequestIdentity.fromWire(wireIdentity)
            if date is None:
                return (filt, name, uuid, result, None, body, identity)
            if type(date) is dict and len(date) == 1:
                dateText = date.get(_DATETIME_TAG)
                if type(dateText) is str:
                    return (filt, name, uuid, result, dateText, body, identity)
    return tuple(_decodeEnvelopeSlow(header, body))


def _decodeEnvelopeSlow(header: Any, body: bytes | None) -> EnvelopeParts:
    _checkObject(header, _HEADER_KEYS, "header")
    destVortexName = header.get("destVortexName")
    destVortexUuid = header.get("destVortexUuid")
    _checkName(destVortexName, "header.destVortexName", VortexDecodeError)
    _checkName(destVortexUuid, "header.destVortexUuid", VortexDecodeError)
    return EnvelopeParts(
        filt=_decodeFilt(header, "header.filt"),
        destVortexName=destVortexName,
        destVortexUuid=destVortexUuid,
        result=decodeRooted(header.get("result"), "header.result"),
        date=_decodeDate(header, "header.date"),
        encodedPayload=body,
        identity=_decodeIdentity(header.get("identity")),
    )


def _decodeIdentity(value: Any) -> RequestIdentity | None:
    return None if value is None else RequestIdentity.fromWire(value)


def decodeEnvelope(vortexMsg: bytes) -> EnvelopeParts:
    """Decode a vortex message's header (date parsed); the body stays encoded."""
    filt, destVortexName, destVortexUuid, result, date, body, identity = decodeHeader(vortexMsg)
    if type(date) is str:
        date = parseDate(date)
    return EnvelopeParts(filt, destVortexName, destVortexUuid, result, date, body, identity)
