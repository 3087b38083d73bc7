"""Frame layer: the encoded payload (body) and the envelope header that routes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson

from vortex.serialise import tags
from vortex.serialise.decode import decodeRooted, decodeTupleList
from vortex.serialise.encode import encodeRooted, encodeTupleList
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError

_VERSION = tags.WIRE_FORMAT_VERSION
_DUMPS_OPTIONS = orjson.OPT_STRICT_INTEGER
_BODY_KEYS = frozenset(("v", "filt", "tuples", "result", "date"))
_HEADER_KEYS = frozenset(("v", "filt", "destVortexName", "destVortexUuid", "result", "date"))
_MISSING = object()


class PayloadParts(NamedTuple):
    """The decoded content of an encoded payload."""

    filt: dict
    tuples: list
    result: Any
    date: datetime | None


class EnvelopeParts(NamedTuple):
    """The decoded header of a vortex message, plus its still-encoded body."""

    filt: dict
    destVortexName: str | None
    destVortexUuid: str | None
    result: Any
    date: datetime | None
    encodedPayload: bytes | None


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
    _checkFilt(filt, "payload.filt")
    _checkDate(date, "payload.date")
    if type(tuples) is not list:
        tuples = list(tuples)
    return _dumps(
        {
            "v": _VERSION,
            "filt": encodeRooted(filt, "payload.filt"),
            "tuples": encodeTupleList(tuples, "payload.tuples"),
            "result": encodeRooted(result, "payload.result"),
            "date": encodeRooted(date, "payload.date"),
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
    obj = _loads(data, "payload")
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


def encodeEnvelope(
    filt: dict,
    destVortexName: str | None,
    destVortexUuid: str | None,
    result: Any,
    date: datetime | None,
    encodedPayload: bytes | None,
) -> bytes:
    """Encode a vortex message: header JSON, then (if any) LF and the untouched payload body."""
    _checkFilt(filt, "header.filt")
    _checkDate(date, "header.date")
    _checkName(destVortexName, "header.destVortexName", VortexEncodeError)
    _checkName(destVortexUuid, "header.destVortexUuid", VortexEncodeError)
    header = _dumps(
        {
            "v": _VERSION,
            "filt": encodeRooted(filt, "header.filt"),
            "destVortexName": destVortexName,
            "destVortexUuid": destVortexUuid,
            "result": encodeRooted(result, "header.result"),
            "date": encodeRooted(date, "header.date"),
        },
        "header",
    )
    if encodedPayload is None:
        return header
    if type(encodedPayload) is not bytes or encodedPayload[:1] != b"{":
        raise VortexEncodeError("encodedPayload must be bytes holding a JSON object", "body")
    return header + b"\n" + encodedPayload


def decodeEnvelope(vortexMsg: bytes) -> EnvelopeParts:
    """Decode a vortex message's header; the body stays encoded bytes."""
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
    header = _loads(headerBytes, "header")
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
    )
