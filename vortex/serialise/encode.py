"""Value encoder: turns Python values into JSON-native structures with ``~`` tags.

The result is handed to orjson in one call. Datetimes in UTC or naive are left as
``datetime`` objects inside their tag so orjson formats them in C (same text as
``isoformat()``); every other non-JSON value is converted here.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import groupby
from operator import attrgetter
from typing import Any

from vortex.serialise import tags
from vortex.serialise.errors import VortexEncodeError
from vortex.Tuple import Tuple, TupleField, defaultTupleRegistry, tupleSpec

MAX_SAFE_INT = tags.MAX_SAFE_INT
MAX_DEPTH = tags.MAX_DEPTH
_NoneType = type(None)

TupleEncoder = Callable[[Any, int], dict]
_TUPLE_ENCODERS: dict[type, TupleEncoder] = {}


def encodeValue(value: Any, depth: int = 0) -> Any:
    """Encode any supported value; raises VortexEncodeError naming the type and path."""
    kind = type(value)
    if kind is str or kind is _NoneType or kind is bool:
        return value
    if kind is int:
        if -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            return value
        return _encodeBigInt(value)
    if kind is float:
        if value - value == 0.0:
            return value
        return {tags.FLOAT: tags.floatSpecialName(value)}
    if depth >= MAX_DEPTH:
        raise VortexEncodeError(f"value nests deeper than {MAX_DEPTH} levels")
    if kind is dict:
        return _encodeDict(value, depth + 1)
    if kind is list:
        return _encodeList(value, depth + 1)
    if kind is datetime:
        return encodeDatetime(value)
    if kind is date:
        return {tags.DATE: value.isoformat()}
    if kind is Decimal:
        return {tags.DECIMAL: str(value)}
    if kind is bytes:
        return {tags.BYTES: base64.b64encode(value).decode("ascii")}
    encoder = _TUPLE_ENCODERS.get(kind)
    if encoder is not None:
        return encoder(value, depth + 1)
    if isinstance(value, Tuple):
        return tupleEncoder(kind)(value, depth + 1)
    if kind is TupleField:
        raise VortexEncodeError(
            "tuple field was never assigned (does the subclass __init__ call super().__init__?)"
        )
    raise VortexEncodeError(
        f"cannot serialise a value of type {kind.__module__}.{kind.__qualname__}; supported:"
        " None, bool, int, float, str, bytes, list, dict (str keys), datetime, date, Decimal"
        " and registered tuples"
    )


def _encodeBigInt(value: int) -> dict:
    try:
        return {tags.INT: str(value)}
    except ValueError as e:
        raise VortexEncodeError(f"integer too large to serialise: {e}") from None


def encodeDatetime(value: datetime) -> dict:
    """Tag a datetime; orjson formats naive and UTC ones, others keep their exact offset."""
    tz = value.tzinfo
    if tz is None or tz is UTC:
        return {tags.DATETIME: value}
    return {tags.DATETIME: value.isoformat()}


def _encodeDict(value: dict, depth: int) -> dict:
    out = {}
    escape = False
    for key, item in value.items():
        if type(key) is not str:
            raise VortexEncodeError(f"dict key {key!r} is not a str; only str keys are supported")
        if key[:1] == tags.PREFIX:
            escape = True
        kind = type(item)
        if kind is str or kind is _NoneType or kind is bool:
            out[key] = item
            continue
        try:
            out[key] = encodeValue(item, depth)
        except VortexEncodeError as e:
            e.addSegment(f"[{key!r}]")
            raise
    if escape:
        return {tags.ESCAPED_DICT: out}
    return out


def _encodeList(value: list, depth: int) -> list:
    out: list[Any] = []
    append = out.append
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str or kind is _NoneType or kind is bool:
            append(item)
            continue
        try:
            append(encodeValue(item, depth))
        except VortexEncodeError as e:
            e.addSegment(f"[{index}]")
            raise
    return out


def tupleEncoder(cls: type) -> TupleEncoder:
    """The (cached) encoder for one registered tuple class."""
    encoder = _TUPLE_ENCODERS.get(cls)
    if encoder is not None:
        return encoder
    name = cls.__dict__.get("__tupleType__")
    if name is None or defaultTupleRegistry.get(name) is not cls:
        raise VortexEncodeError(
            f"tuple class {cls.__module__}.{cls.__qualname__} is not registered;"
            " decorate it with @addTupleType so receivers can rebuild it"
        )
    spec = tupleSpec(cls)
    fieldNames = spec.fieldNames
    typeTag = tags.TUPLE

    def encodeTuple(obj: Any, depth: int) -> dict:
        out = {typeTag: name}
        for field in fieldNames:
            value = getattr(obj, field)
            kind = type(value)
            if kind is str or kind is _NoneType or kind is bool:
                out[field] = value
            elif kind is int and -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
                out[field] = value
            elif kind is float and value - value == 0.0:
                out[field] = value
            elif kind is datetime:
                tz = value.tzinfo
                if tz is None or tz is UTC:
                    out[field] = {tags.DATETIME: value}
                else:
                    out[field] = {tags.DATETIME: value.isoformat()}
            else:
                try:
                    out[field] = encodeValue(value, depth)
                except VortexEncodeError as e:
                    e.addSegment(f".{field}")
                    raise
        return out

    _TUPLE_ENCODERS[cls] = encodeTuple
    return encodeTuple


def encodeTupleList(values: list, root: str) -> list:
    """Encode a payload's tuples list: runs of one plain tuple class go columnar (``~r``)."""
    out: list[Any] = []
    append = out.append
    index = 0
    for cls, group in groupby(values, type):
        items = list(group)
        try:
            runEncoder = _runEncoder(cls) if len(items) > 1 else None
        except VortexEncodeError as e:
            e.addSegment(f"[{index}]")
            e.setRoot(root)
            raise
        if runEncoder is not None:
            try:
                append(runEncoder(items, index))
            except VortexEncodeError as e:
                e.setRoot(root)  # the run's column encoder already added the tuple's index
                raise
            index += len(items)
            continue
        encoder = _TUPLE_ENCODERS.get(cls)
        for value in items:
            try:
                append(encoder(value, 1) if encoder is not None else encodeValue(value, 0))
            except VortexEncodeError as e:
                e.addSegment(f"[{index}]")
                e.setRoot(root)
                raise
            index += 1
    return out


RunEncoder = Callable[[list, int], dict]
_RUN_ENCODERS: dict[type, RunEncoder | None] = {}
_PLAIN_KINDS = frozenset((str, _NoneType, bool))


def _runEncoder(cls: type) -> RunEncoder | None:
    """The (cached) run encoder for a plain registered tuple class; None for other types."""
    try:
        return _RUN_ENCODERS[cls]
    except KeyError:
        pass
    encoder = None
    if issubclass(cls, Tuple):
        tupleEncoder(cls)  # raises VortexEncodeError for unregistered classes
        spec = tupleSpec(cls)
        if not spec.isSqla and spec.fieldNames:
            encoder = _makeRunEncoder(spec.tupleType, spec.fieldNames)
    _RUN_ENCODERS[cls] = encoder
    return encoder


def _encodeColumn(column: Sequence[Any], field: str, start: int) -> Sequence[Any]:
    """A column's wire values: unchanged when already JSON-native, else encoded cell by cell."""
    kinds = set(map(type, column))
    if kinds <= _PLAIN_KINDS:
        return column
    if kinds == {int} and -MAX_SAFE_INT <= min(column) and max(column) <= MAX_SAFE_INT:
        return column
    if kinds == {float} and all(map(math.isfinite, column)):
        return column
    out: list[Any] = []
    append = out.append
    for row, value in enumerate(column):
        kind = type(value)
        if kind is str or kind is _NoneType or kind is bool:
            append(value)
        elif kind is datetime and (value.tzinfo is None or value.tzinfo is UTC):
            append({tags.DATETIME: value})
        else:
            try:
                append(encodeValue(value, 1))
            except VortexEncodeError as e:
                e.addSegment(f".{field}")
                e.addSegment(f"[{start + row}]")
                raise
    return out


def _makeRunEncoder(name: str, fieldNames: tuple[str, ...]) -> RunEncoder:
    getter = attrgetter(*fieldNames)
    single = len(fieldNames) == 1
    keys = list(fieldNames)
    runTag = tags.TUPLE_RUN

    def encodeRun(items: list, start: int) -> dict:
        """Rows built in C; only columns holding non-JSON-native values are rewritten."""
        rows = list(zip(map(getter, items))) if single else list(map(getter, items))
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        changed = False
        for position, column in enumerate(columns):
            encoded = _encodeColumn(column, fieldNames[position], start)
            if encoded is not column:
                columns[position] = encoded
                changed = True
        if changed:
            rows = list(zip(*columns, strict=True))
        return {runTag: name, "k": keys, "v": rows}

    return encodeRun


def encodeRooted(value: Any, root: str) -> Any:
    """encodeValue, with errors located under root (e.g. ``filt``)."""
    try:
        return encodeValue(value)
    except VortexEncodeError as e:
        e.setRoot(root)
        raise
