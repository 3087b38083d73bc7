"""Hostile and malformed input: decoding raises VortexDecodeError and nothing else."""

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.SerialiseUtil import VortexDecodeError, fromJsonBytes
from vortex.Tuple import Tuple, TupleField, addTupleType

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@addTupleType
class Guarded(Tuple):
    __tupleType__ = "tests.vortex.serialise.Guarded"
    name = TupleField()
    items = TupleField(defaultValue=list)


VALID = Payload(
    filt={"key": "k", "nested": {"a": [1, 2.5, None]}},
    tuples=[
        Guarded(name="a", items=[1, "x", {"d": datetime(2024, 1, 1, tzinfo=UTC)}]),
        Guarded(name=None, items=[Guarded(name="inner"), b"\x01", 2**70]),
    ],
    result={"ok": True},
    date=datetime(2024, 1, 1, tzinfo=UTC),
).toVortexMsg()
VALID_BODY = VALID.split(b"\n", 1)[1]


def decodeFully(data: bytes) -> None:
    """Run every public decode entry point a receiver would use on data."""
    try:
        PayloadEnvelope.fromVortexMsg(data).decodePayload()
    except VortexDecodeError:
        pass
    try:
        PayloadEnvelope.fromVortexMsg(data).date  # noqa: B018  (a received date parses lazily)
    except VortexDecodeError:
        pass
    try:
        Payload.fromEncodedPayload(data)
    except VortexDecodeError:
        pass


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["~t", "~r", "~dt", "~int", "~f", "~b64", "~esc", "~dec", "~date", "NaN"])
    | st.sampled_from([Guarded.tupleName(), "vortex.TupleSelector", "nope.Nope"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(max_size=4)
            | st.sampled_from(["~t", "~r", "k", "~dt", "~int", "~f", "~b64", "~esc", "~dec"])
            | st.sampled_from(["~date", "~x"])
            | st.sampled_from(["v", "filt", "tuples", "date", "result", "name", "items"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replaced(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replaced(node[path[0]], path[1:], value)
    return copy


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_decode_error(data):
    """Arbitrary bytes never raise anything but VortexDecodeError."""
    decodeFully(data)
    decodeFully(b"{" + data)
    decodeFully(VALID.split(b"\n", 1)[0] + b"\n{" + data)


@SETTINGS
@given(st.data())
def test_byte_mutated_frames_only_raise_decode_error(data):
    """A valid frame with bytes flipped, inserted, deleted or truncated fails cleanly."""
    frame = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(frame) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip":
            frame[position] = data.draw(st.integers(0, 255))
        elif action == "insert":
            frame[position:position] = data.draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del frame[position]
        else:
            del frame[position:]
        if not frame:
            break
    decodeFully(bytes(frame))


@SETTINGS
@given(st.data(), json_values)
def test_structurally_mutated_frames_only_raise_decode_error(data, replacement):
    """Replacing any subtree of a valid header or body with random JSON fails cleanly."""
    header, body = (orjson.loads(part) for part in VALID.split(b"\n", 1))
    target = data.draw(st.sampled_from(["header", "body"]))
    tree = header if target == "header" else body
    path = data.draw(st.sampled_from(list(_paths(tree))))
    mutated = orjson.dumps(_replaced(tree, path, replacement))
    frame = mutated + b"\n" + VALID_BODY if target == "header" else orjson.dumps(header) + b"\n"
    if target == "body":
        frame += mutated
    decodeFully(frame)
    decodeFully(mutated)


def test_every_truncation_of_a_frame_fails_cleanly():
    """Each prefix of a valid frame either decodes or raises VortexDecodeError."""
    for end in range(len(VALID)):
        decodeFully(VALID[:end])


def test_unknown_tuple_type_is_rejected_by_name():
    """A tuple type nobody registered is refused, and the error names that type."""
    body = VALID_BODY.replace(Guarded.tupleName().encode(), b"evil.NotRegistered", 1)
    with pytest.raises(VortexDecodeError, match=r"evil\.NotRegistered") as info:
        Payload.fromEncodedPayload(body)
    assert info.value.where == "payload.tuples[0]"


def test_registered_type_with_undeclared_field_is_rejected():
    """A frame claiming a registered type but carrying an undeclared field is refused."""
    spoof = {"~t": Guarded.tupleName(), "name": "x", "__class__": "os.system"}
    body = orjson.dumps({"v": 1, "filt": {}, "tuples": [spoof], "result": None, "date": None})
    with pytest.raises(VortexDecodeError, match="__class__") as info:
        Payload.fromEncodedPayload(body)
    assert "declared fields are ['name', 'items']" in info.value.what


def test_missing_tuple_fields_take_their_defaults():
    """A tuple object that omits a field decodes with that field's default."""
    got = fromJsonBytes(orjson.dumps({"~t": Guarded.tupleName(), "name": "x"}))
    assert (got.name, got.items) == ("x", [])


HEADER = {"v": 1, "filt": {"key": "k"}, "destVortexName": None, "destVortexUuid": None}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"v": "1"}, "header.v"),
        ({"v": 2}, "header.v"),
        ({"v": True}, "header.v"),
        ({"filt": []}, "header.filt"),
        ({"filt": None}, "header.filt"),
        ({"filt": {"~t": "vortex.TupleSelector", "name": "x", "selector": {}}}, "header.filt"),
        ({"destVortexName": 5}, "header.destVortexName"),
        ({"destVortexUuid": ["x"]}, "header.destVortexUuid"),
        ({"date": "2024-01-01"}, "header.date"),
        ({"date": {"~dt": 5}}, "header.date['~dt']"),
        ({"result": {"~int": "12a"}}, "header.result['~int']"),
        ({"result": {"~f": "nan"}}, "header.result['~f']"),
        ({"result": {"~b64": "***"}}, "header.result['~b64']"),
        ({"result": {"~dec": "one"}}, "header.result['~dec']"),
        ({"result": {"~what": 1}}, "header.result"),
        ({"result": {"~t": 7}}, "header.result"),
        ({"result": {"a": 1, "~t2": 1}}, "header.result"),
        ({"extra": 1}, "header"),
    ],
)
def test_wrong_typed_header_fields_are_rejected_with_location(change, where):
    """Each malformed header field raises VortexDecodeError locating the field."""
    header = {**HEADER, **change}
    with pytest.raises(VortexDecodeError) as info:
        PayloadEnvelope.fromVortexMsg(orjson.dumps(header))
    assert info.value.where == where


@pytest.mark.parametrize(
    "message", [b"", b"[]", b"null", b"{}", b'{"v":1}', b'{"v":1,"filt":{}}\n', b"{}\n[1]"]
)
def test_malformed_frame_shapes_are_rejected(message):
    """Empty, non-object, version-less or body-less-after-newline frames are refused."""
    with pytest.raises(VortexDecodeError):
        PayloadEnvelope.fromVortexMsg(message)


@pytest.mark.parametrize("message", [None, "text", 5])
def test_non_bytes_frames_are_rejected(message):
    """A frame of the wrong Python type is a VortexDecodeError, not a TypeError."""
    with pytest.raises(VortexDecodeError):
        PayloadEnvelope.fromVortexMsg(message)
    with pytest.raises(VortexDecodeError):
        Payload.fromEncodedPayload(message)


def test_too_deep_nesting_is_rejected():
    """Nesting past the depth limit is a VortexDecodeError, not a RecursionError."""
    with pytest.raises(VortexDecodeError, match="deeper"):
        fromJsonBytes(b"[" * 600 + b"]" * 600)
