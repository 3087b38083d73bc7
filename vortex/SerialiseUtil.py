"""Public face of the vortex codec: its errors, version and value helpers."""

from typing import Any

import orjson

from vortex.serialise.decode import decodeRooted
from vortex.serialise.encode import encodeRooted
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError
from vortex.serialise.tags import MAX_DEPTH, MAX_SAFE_INT, WIRE_FORMAT_VERSION

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INT",
    "WIRE_FORMAT_VERSION",
    "VortexDecodeError",
    "VortexEncodeError",
    "fromJsonBytes",
    "toJsonBytes",
]


def toJsonBytes(value: Any, sortKeys: bool = False) -> bytes:
    """Encode one value (tuples, datetimes, ...) with the wire format's value tags."""
    option = orjson.OPT_STRICT_INTEGER | (orjson.OPT_SORT_KEYS if sortKeys else 0)
    try:
        return orjson.dumps(encodeRooted(value, "value"), option=option)
    except orjson.JSONEncodeError as e:
        raise VortexEncodeError(f"JSON encoding failed: {e}", "value") from None


def fromJsonBytes(data: bytes | str) -> Any:
    """Decode one value written by :func:`toJsonBytes`; only VortexDecodeError on bad input."""
    if not isinstance(data, (bytes, str)):
        raise VortexDecodeError(f"expected bytes or str, got {type(data).__qualname__}", "value")
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise VortexDecodeError(f"not valid JSON: {e}", "value") from None
    return decodeRooted(parsed, "value")
