"""Value decoder: rebuilds Python values from parsed JSON, constructing only registered tuples."""

from __future__ import annotations

import base64
import binascii
import re
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from itertools import repeat
from operator import setitem
from typing import Any

from vortex.serialise import tags
from vortex.serialise.errors import VortexDecodeError
from vortex.Tuple import Tuple, TupleSpec, defaultTupleRegistry, tupleSpec

MAX_DEPTH = tags.MAX_DEPTH
_INT_RE = re.compile(r"-?[0-9]+\Z")
_OFFSET_MICROS_RE = re.compile(r"([+-])([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})\Z")
_MISSING = object()

TupleDecoder = Callable[[dict, int], Any]
_TUPLE_DECODERS: dict[type[Tuple], TupleDecoder] = {}


def _typeName(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "null" if value is None else "number"
    )


def decodeValue(value: Any, depth: int = 0) -> Any:
    """Decode one parsed JSON value; raises VortexDecodeError with the path on bad input."""
    kind = type(value)
    if kind is dict:
        return _decodeObject(value, depth + 1)
    if kind is list:
        return _decodeList(value, depth + 1)
    return value


def _decodeList(value: list, depth: int) -> list:
    if depth > MAX_DEPTH:
        raise VortexDecodeError(f"value nests deeper than {MAX_DEPTH} levels")
    out: list[Any] = []
    append = out.append
    for index, item in enumerate(value):
        kind = type(item)
        if kind is dict or kind is list:
            try:
                item = decodeValue(item, depth)
            except VortexDecodeError as e:
                e.addSegment(f"[{index}]")
                raise
        append(item)
    return out


def _decodeObject(value: dict, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise VortexDecodeError(f"value nests deeper than {MAX_DEPTH} levels")
    typeName = value.get(tags.TUPLE, _MISSING)
    if typeName is not _MISSING:
        return decodeTuple(value, typeName, depth)
    if len(value) == 1:
        ((key, item),) = value.items()
        if key[:1] == tags.PREFIX:
            decoder = _TAG_DECODERS.get(key)
            if decoder is None:
                raise VortexDecodeError(f"unknown tag {key!r}")
            try:
                return decoder(item, depth)
            except VortexDecodeError as e:
                e.addSegment(f"[{key!r}]")
                raise
    return _decodeDictItems(value, depth, escaped=False)


def _decodeDictItems(value: dict, depth: int, escaped: bool):
    out = {}
    for key, item in value.items():
        if not escaped and key[:1] == tags.PREFIX:
            raise VortexDecodeError(
                f"object key {key!r} starts with {tags.PREFIX!r} but the object is not a tag;"
                f" such dicts must be wrapped in {tags.ESCAPED_DICT!r}"
            )
        kind = type(item)
        if kind is dict or kind is list:
            try:
                item = decodeValue(item, depth)
            except VortexDecodeError as e:
                e.addSegment(f"[{key!r}]")
                raise
        out[key] = item
    return out


def _requireStr(item: Any, tag: str) -> str:
    if type(item) is not str:
        raise VortexDecodeError(f"{tag} tag needs a string, got {_typeName(item)}")
    return item


def _decodeInt(item: Any, depth: int) -> int:
    text = _requireStr(item, tags.INT)
    if not _INT_RE.match(text):
        raise VortexDecodeError(f"{tags.INT} value {text[:40]!r} is not a decimal integer")
    try:
        return int(text)
    except ValueError as e:
        raise VortexDecodeError(f"{tags.INT} value rejected: {e}") from None


def _decodeFloat(item: Any, depth: int) -> float:
    text = _requireStr(item, tags.FLOAT)
    special = tags.FLOAT_SPECIALS.get(text)
    if special is None:
        raise VortexDecodeError(
            f"{tags.FLOAT} value {text[:40]!r} is not one of {sorted(tags.FLOAT_SPECIALS)}"
        )
    return special


def _decodeDatetime(item: Any, depth: int) -> datetime:
    text = _requireStr(item, tags.DATETIME)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise VortexDecodeError(
            f"{tags.DATETIME} value {text[:40]!r} is not an ISO 8601 datetime"
        ) from None
    if text[-7:-6] == ".":
        match = _OFFSET_MICROS_RE.search(text)
        if match is not None:
            # Python 3.11's fromisoformat misreads offset fractions with leading zeros.
            sign, hours, minutes, seconds, micros = match.groups()
            offset = timedelta(
                hours=int(hours),
                minutes=int(minutes),
                seconds=int(seconds),
                microseconds=int(micros),
            )
            try:
                value = value.replace(tzinfo=timezone(-offset if sign == "-" else offset))
            except ValueError:
                raise VortexDecodeError(
                    f"{tags.DATETIME} offset out of range in {text[:40]!r}"
                ) from None
    return value


def _decodeDate(item: Any, depth: int) -> date:
    text = _requireStr(item, tags.DATE)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise VortexDecodeError(
            f"{tags.DATE} value {text[:40]!r} is not an ISO 8601 date"
        ) from None


def _decodeDecimal(item: Any, depth: int) -> Decimal:
    text = _requireStr(item, tags.DECIMAL)
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError, OverflowError):
        raise VortexDecodeError(f"{tags.DECIMAL} value {text[:40]!r} is not a decimal") from None


def _decodeBytes(item: Any, depth: int) -> bytes:
    text = _requireStr(item, tags.BYTES)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise VortexDecodeError(f"{tags.BYTES} value is not valid base64") from None


def _decodeEscaped(item: Any, depth: int) -> dict:
    if type(item) is not dict:
        raise VortexDecodeError(f"{tags.ESCAPED_DICT} tag needs an object, got {_typeName(item)}")
    return _decodeDictItems(item, depth, escaped=True)


_TAG_DECODERS: dict[str, Callable[[Any, int], Any]] = {
    tags.INT: _decodeInt,
    tags.FLOAT: _decodeFloat,
    tags.DATETIME: _decodeDatetime,
    tags.DATE: _decodeDate,
    tags.DECIMAL: _decodeDecimal,
    tags.BYTES: _decodeBytes,
    tags.ESCAPED_DICT: _decodeEscaped,
}


def decodeTuple(value: dict, typeName: Any, depth: int) -> Any:
    """Rebuild one tuple from its object; only registered classes and declared fields."""
    if type(typeName) is not str:
        raise VortexDecodeError(f"{tags.TUPLE} must be a string, got {_typeName(typeName)}")
    cls = defaultTupleRegistry.get(typeName)
    if cls is None:
        raise VortexDecodeError(
            f"unknown tuple type {typeName[:200]!r}: no class is registered under that name in"
            " this process (import the module that declares it with @addTupleType)"
        )
    return _decoderFor(cls)(value, depth)


def _decoderFor(cls: type[Tuple]) -> TupleDecoder:
    decoder = _TUPLE_DECODERS.get(cls)
    if decoder is None:
        decoder = _TUPLE_DECODERS[cls] = _makeTupleDecoder(tupleSpec(cls))
    return decoder


def decodeTupleList(values: list, root: str) -> list:
    """Decode a payload's tuples array; runs of one tuple type reuse the same decoder."""
    out: list[Any] = []
    append = out.append
    lastName: Any = None
    lastDecoder: TupleDecoder | None = None
    tupleKey = tags.TUPLE
    runKey = tags.TUPLE_RUN
    for index, item in enumerate(values):
        try:
            if type(item) is dict:
                typeName = item.get(tupleKey)
                if typeName == lastName and lastDecoder is not None:
                    append(lastDecoder(item, 1))
                    continue
                if type(typeName) is str:
                    cls = defaultTupleRegistry.get(typeName)
                    if cls is not None:
                        lastName, lastDecoder = typeName, _decoderFor(cls)
                        append(lastDecoder(item, 1))
                        continue
                if runKey in item:
                    out.extend(decodeTupleRun(item))
                    continue
            append(decodeValue(item, 0))
        except VortexDecodeError as e:
            e.addSegment(f"[{index}]")
            e.setRoot(root)
            raise
    return out


_RUN_KEYS = frozenset((tags.TUPLE_RUN, "k", "v"))
_CONTAINERS = frozenset((dict, list))


def _runError(what: str, segment: str) -> VortexDecodeError:
    error = VortexDecodeError(what)
    error.addSegment(segment)
    return error


def _runClass(run: dict) -> tuple[type[Tuple], TupleSpec, list]:
    """Validate a run's shape and keys; returns its class, spec and field names."""
    if run.keys() != _RUN_KEYS:
        extra = sorted(k[:80] for k in run.keys() ^ _RUN_KEYS)[:5]
        raise VortexDecodeError(
            f"a {tags.TUPLE_RUN} run has exactly the keys {sorted(_RUN_KEYS)}; wrong: {extra}"
        )
    typeName = run[tags.TUPLE_RUN]
    if type(typeName) is not str:
        raise VortexDecodeError(f"{tags.TUPLE_RUN} must be a string, got {_typeName(typeName)}")
    cls = defaultTupleRegistry.get(typeName)
    if cls is None:
        raise VortexDecodeError(
            f"unknown tuple type {typeName[:200]!r}: no class is registered under that name in"
            " this process (import the module that declares it with @addTupleType)"
        )
    spec = tupleSpec(cls)
    keys = run["k"]
    if type(keys) is not list or set(map(type, keys)) - {str}:
        raise _runError("run keys must be an array of field name strings", ".k")
    if not spec.fieldSet.issuperset(keys):
        bad = [k[:80] for k in keys if k not in spec.fieldSet][:5]
        raise _runError(
            f"tuple type {spec.tupleType!r} has no field(s) {bad};"
            f" declared fields are {list(spec.fieldNames)}",
            ".k",
        )
    if len(set(keys)) != len(keys):
        dupes = sorted({k[:80] for k in keys if keys.count(k) > 1})[:5]
        raise _runError(f"run keys repeat field(s) {dupes}", ".k")
    return cls, spec, keys


def _checkRows(rows: Any, width: int) -> None:
    if type(rows) is not list:
        raise _runError(f"run rows must be an array, got {_typeName(rows)}", ".v")
    if set(map(type, rows)) <= {list} and set(map(len, rows)) <= {width}:
        return
    for index, row in enumerate(rows):
        if type(row) is not list or len(row) != width:
            shown = f"{len(row)} values" if type(row) is list else _typeName(row)
            raise _runError(
                f"each run row must be an array of {width} values (one per key), got {shown}",
                f".v[{index}]",
            )


def _decodeCell(column: tuple, position: int) -> list:
    """Decode the tagged values (objects and arrays) in one column; others stay as parsed."""
    datetimeKey = tags.DATETIME
    fromisoformat = datetime.fromisoformat
    try:
        # Common case, a column of plain datetimes (and None): decoded in one comprehension.
        # Anything else (other tags, arrays, odd datetime texts) leaves a container or
        # raises, and the careful loop below decodes the column instead.
        fast = [
            fromisoformat(item[datetimeKey])
            if type(item) is dict and len(item) == 1 and item[datetimeKey][-7:-6] != "."
            else item
            for item in column
        ]
    except (KeyError, TypeError, ValueError):
        fast = None
    if fast is not None and set(map(type, fast)).isdisjoint(_CONTAINERS):
        return fast
    return _decodeCellCarefully(column, position)


def _decodeCellCarefully(column: tuple, position: int) -> list:
    """Decode a column value by value, locating any error at its row and position."""
    out: list[Any] = []
    append = out.append
    datetimeKey = tags.DATETIME
    fromisoformat = datetime.fromisoformat
    for index, item in enumerate(column):
        kind = type(item)
        if kind is dict:
            text = item.get(datetimeKey) if len(item) == 1 else None
            # Offsets with fractional seconds take the general path (Python 3.11 bug).
            if type(text) is str and text[-7:-6] != ".":
                try:
                    append(fromisoformat(text))
                    continue
                except ValueError:
                    pass
        elif kind is not list:
            append(item)
            continue
        try:
            append(decodeValue(item, 1))
        except VortexDecodeError as e:
            e.addSegment(f".v[{index}][{position}]")
            raise
    return out


def decodeTupleRun(run: dict) -> list:
    """Decode one ``~r`` run (columnar tuples of one registered type) into its tuples."""
    cls, spec, keys = _runClass(run)
    rows = run["v"]
    _checkRows(rows, len(keys))
    count = len(rows)
    if spec.isSqla:
        decoder = _decoderFor(cls)
        tupleKey = tags.TUPLE
        out = []
        for index, row in enumerate(rows):
            item = dict(zip(keys, row, strict=True))
            item[tupleKey] = spec.tupleType
            try:
                out.append(decoder(item, 1))
            except VortexDecodeError as e:
                e.addSegment(f".v[{index}]")
                raise
        return out
    objs = list(map(cls.__new__, repeat(cls, count)))
    attrs = list(map(vars, objs))  # filling the instance dicts directly is the fastest way
    column: tuple[Any, ...] | list[Any]
    for position, (key, column) in enumerate(
        zip(keys, zip(*rows, strict=True), strict=bool(count))
    ):
        if not set(map(type, column)).isdisjoint(_CONTAINERS):
            column = _decodeCell(column, position)
        deque(map(setitem, attrs, repeat(key), column), maxlen=0)
    for field in spec.fieldNames:
        if field not in keys:
            default = spec.defaults[field]
            for attr in attrs:
                attr[field] = default.makeDefault()
    return objs


def _undeclared(value: dict, spec: TupleSpec) -> VortexDecodeError:
    extra = sorted(k for k in value if k != tags.TUPLE and k not in spec.fieldSet)
    return VortexDecodeError(
        f"tuple type {spec.tupleType!r} has no field(s) {[k[:80] for k in extra[:5]]};"
        f" declared fields are {list(spec.fieldNames)}"
    )


def _makeTupleDecoder(spec: TupleSpec) -> TupleDecoder:
    cls = spec.cls
    fieldNames = spec.fieldNames
    defaults = spec.defaults
    expectedLen = len(fieldNames) + 1

    if spec.mapper is not None:
        newInstance = spec.mapper.class_manager.new_instance

        def decodeSqla(value: dict, depth: int) -> Any:
            if len(value) > expectedLen or not value.keys() - spec.fieldSet <= {tags.TUPLE}:
                raise _undeclared(value, spec)
            obj = newInstance()
            for field in fieldNames:
                item = value.get(field, _MISSING)
                if item is _MISSING:
                    default = defaults.get(field)
                    if default is not None:
                        setattr(obj, field, default.makeDefault())
                    continue
                kind = type(item)
                if kind is dict or kind is list:
                    try:
                        item = decodeValue(item, depth)
                    except VortexDecodeError as e:
                        e.addSegment(f".{field}")
                        raise
                setattr(obj, field, item)
            return obj

        return decodeSqla

    new = cls.__new__
    exactKeys = frozenset((tags.TUPLE, *fieldNames))
    tupleKey = tags.TUPLE
    datetimeKey = tags.DATETIME
    fromisoformat = datetime.fromisoformat

    def decodePlain(value: dict, depth: int) -> Any:
        """Fast path: every declared field present; the parsed dict becomes the instance's."""
        if value.keys() != exactKeys:
            return decodePlainPartial(value, depth)
        del value[tupleKey]
        for field, item in value.items():
            kind = type(item)
            if kind is dict:
                text = item.get(datetimeKey) if len(item) == 1 else None
                # Offsets with fractional seconds take the general path (Python 3.11 bug).
                if type(text) is str and text[-7:-6] != ".":
                    try:
                        value[field] = fromisoformat(text)
                        continue
                    except ValueError:
                        pass
            elif kind is not list:
                continue
            try:
                value[field] = decodeValue(item, depth)
            except VortexDecodeError as e:
                e.addSegment(f".{field}")
                raise
        obj = new(cls)
        obj.__dict__ = value
        return obj

    def decodePlainPartial(value: dict, depth: int) -> Any:
        """Some fields absent (they get their defaults) or undeclared ones present."""
        obj = new(cls)
        attrs = obj.__dict__
        found = 1
        for field in fieldNames:
            item = value.get(field, _MISSING)
            if item is _MISSING:
                attrs[field] = defaults[field].makeDefault()
                continue
            found += 1
            kind = type(item)
            if kind is dict or kind is list:
                try:
                    item = decodeValue(item, depth)
                except VortexDecodeError as e:
                    e.addSegment(f".{field}")
                    raise
            attrs[field] = item
        if found != len(value) or tupleKey not in value:
            raise _undeclared(value, spec)
        return obj

    return decodePlain


def decodeRooted(value: Any, root: str) -> Any:
    """decodeValue, with errors located under root (e.g. ``header.filt``)."""
    try:
        return decodeValue(value)
    except VortexDecodeError as e:
        e.setRoot(root)
        raise
