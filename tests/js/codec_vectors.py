"""Golden vectors from the Python codec for the JS codec tests.

``encode``: print ``[[name, jsonText], ...]`` made by ``toJsonBytes`` for every case.
``check``: read ``[[name, jsonText], ...]`` (the JS re-encoding) on stdin; print, per name,
``"ok"`` when it decodes to a value whose Python encoding equals the original's.
``payload``: print ``{"body": text}``, a payload body whose ``tuples`` mix ``~r`` runs,
a single tuple, an unregistered-in-JS run and a plain value (see :func:`payloadTuples`).
``describe``: read ``[[name, jsonText], ...]`` on stdin; print ``repr`` of each decoded value.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from jstest_tuples import JsTestItem, JsTestUnregistered

from vortex.serialise.frames import encodePayload
from vortex.SerialiseUtil import VortexDecodeError, fromJsonBytes, toJsonBytes
from vortex.TupleAction import TupleGenericAction
from vortex.TupleSelector import TupleSelector


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def cases() -> dict:
    """Every value kind the Python side produces, by name."""
    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    item = JsTestItem(id=7, name="item ✓", value=0.25, when=when, extra={"price": Decimal("9.99")})
    return {
        "int-zero": 0,
        "int-negative": -1,
        "int-max-safe": 2**53 - 1,
        "int-min-safe": -(2**53 - 1),
        "int-beyond-safe": 2**53,
        "int-big-negative": -(2**64),
        "int-4000-digits": 10**3999,
        "float-fraction": 0.1,
        "float-negative-zero": -0.0,
        "float-huge": 1e300,
        "float-tiny": 5e-324,
        "float-integral-beyond-safe": 1.2345678901234568e20,
        "float-nan": float("nan"),
        "float-inf": float("inf"),
        "float-minus-inf": float("-inf"),
        "str-empty": "",
        "str-unicode": "héllo ✓ 😀",
        "str-escapes": 'line\nbreak\t"q"\\ \x00\x1f\x7f',
        "bool-and-none": [True, False, None],
        "bytes-empty": b"",
        "bytes-some": b"\x00\x01\xff",
        "bytes-all": bytes(range(256)),
        "dt-naive": datetime(2024, 1, 2, 3, 4, 5, 678901),
        "dt-naive-whole-second": datetime(2024, 1, 2, 3, 4, 5),
        "dt-utc": when,
        "dt-plus-0530": datetime(
            2024, 6, 30, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))
        ),
        "dt-minus-0800": datetime(1999, 12, 31, 16, 0, tzinfo=timezone(timedelta(hours=-8))),
        "dt-offset-seconds": datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1, seconds=30))),
        "dt-offset-micros": datetime(
            2024, 1, 1, tzinfo=timezone(-timedelta(hours=1, seconds=1, microseconds=5))
        ),
        "dt-year-1": datetime(1, 1, 1),
        "dt-year-9999": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "date-leap": date(2024, 2, 29),
        "dec-simple": Decimal("1.25"),
        "dec-exponent": Decimal("-1.2500E+7"),
        "dec-negative-zero": Decimal("-0"),
        "dec-small-exponent": Decimal("0E-10"),
        "dec-nan": Decimal("NaN"),
        "dec-snan-payload": Decimal("sNaN123"),
        "dec-minus-infinity": Decimal("-Infinity"),
        "dec-long": Decimal("1234567890123456789012345678901234567890.123"),
        "dict-plain": {"a": 1, "b": [1, 2], "c": {"d": None}},
        "dict-escaped": {"~t": "x", "when": datetime(2024, 1, 2)},
        "dict-escaped-nested": {"outer": {"~esc": {"~int": "1"}}},
        "dict-proto-keys": {"__proto__": 1, "constructor": 2},
        "list-100-deep": _nested(100),
        "tuple-registered": item,
        "tuple-defaults": JsTestItem(id=1),
        "tuple-unregistered": JsTestUnregistered(a=[1, "two"], nested=item),
        "tuple-selector": TupleSelector("jstest.Item", {"group": "a", "since": date(2024, 1, 1)}),
        "tuple-generic-action": TupleGenericAction(
            uuid="u-1", dateTime=when, key="k", data={"x": [1, 2.5]}
        ),
    }


def payloadTuples() -> list:
    """Tuples for the ``payload`` vector: a run of 3, one tuple, a plain dict, a run of 2."""
    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    return [
        JsTestItem(id=0, name="a", value=0.5, when=when, extra={"~k": 2**60}),
        JsTestItem(id=1, name="b", value=1.5, when=None),
        JsTestItem(id=2, name="c", value=float("nan"), when=when),
        JsTestUnregistered(a=1, nested=None),
        {"plain": [1, 2]},
        JsTestUnregistered(a=2, nested=JsTestItem(id=9)),
        JsTestUnregistered(a=3, nested=None),
    ]


def _read() -> list:
    return json.loads(sys.stdin.read())


def main(mode: str) -> None:
    """Run one mode (see the module docstring)."""
    if mode == "encode":
        out = [[name, toJsonBytes(value).decode()] for name, value in cases().items()]
    elif mode == "payload":
        out = {"body": encodePayload({"key": "runs"}, payloadTuples(), None, None).decode()}
    elif mode == "check":
        originals = cases()
        out = {}
        for name, text in _read():
            try:
                back = toJsonBytes(fromJsonBytes(text))
            except VortexDecodeError as e:
                out[name] = f"Python could not decode it: {e}"
                continue
            expected = toJsonBytes(originals[name])
            out[name] = "ok" if back == expected else f"{back.decode()} != {expected.decode()}"
    elif mode == "describe":
        out = {}
        for name, text in _read():
            try:
                out[name] = repr(fromJsonBytes(text))
            except VortexDecodeError as e:
                out[name] = f"VortexDecodeError: {e}"
    else:
        raise SystemExit(f"codec_vectors.py: unknown mode {mode!r}; use encode, check or describe")
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
