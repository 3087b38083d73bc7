"""Columnar ``~r`` tuple runs in a payload's ``tuples``: encoding, decoding and rejection."""

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import DeclarativeBase

from vortex.Payload import Payload
from vortex.SerialiseUtil import VortexDecodeError, VortexEncodeError
from vortex.Tuple import Tuple, TupleField, addTupleType

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WHEN = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@addTupleType
class RunItem(Tuple):
    __tupleType__ = "tests.vortex.serialise.RunItem"
    id = TupleField()
    when = TupleField()
    tags = TupleField(defaultValue=list)


@addTupleType
class RunOther(Tuple):
    __tupleType__ = "tests.vortex.serialise.RunOther"
    value = TupleField()


class _Base(DeclarativeBase):
    pass


@addTupleType
class RunRow(Tuple, _Base):
    __tupleType__ = "tests.vortex.serialise.RunRow"
    __tablename__ = "RunRow"
    id = Column(Integer, primary_key=True)
    label = Column(String(20))


def _roundTrip(tuples: list) -> tuple[list, list]:
    """The decoded tuples and the parsed wire ``tuples`` array of one payload."""
    encoded = Payload(filt={"key": "runs"}, tuples=tuples).toEncodedPayload()
    return Payload.fromEncodedPayload(encoded).tuples, orjson.loads(encoded)["tuples"]


def _body(*items: str) -> bytes:
    return b'{"v":1,"filt":{},"tuples":[%s]}' % ",".join(items).encode()


def test_mixed_payload_uses_runs_only_for_consecutive_plain_tuples(sameValue):
    """Runs of ≥ 2 plain tuples go columnar; singles, SQLAlchemy and other values do not."""
    sent = [
        RunItem(id=1, when=WHEN, tags=[RunOther(value=b"x")]),
        RunItem(id=2, when=None),
        RunOther(value=float("nan")),
        {"~t": "not a tuple"},
        RunRow(id=1, label="a"),
        RunRow(id=2, label="b"),
        RunOther(value=2**70),
        RunOther(value={"d": WHEN}),
        RunItem(id=3, when=datetime(2024, 1, 1)),
    ]
    got, wire = _roundTrip(sent)
    assert [next(iter(item)) for item in wire] == ["~r", "~t", "~esc", "~t", "~t", "~r", "~t"]
    assert wire[0]["k"] == ["id", "when", "tags"] and len(wire[0]["v"]) == 2
    assert [type(t) for t in got] == [type(t) for t in sent]
    assert all(sameValue(a, b) for a, b in zip(sent, got, strict=True))


@SETTINGS
@given(
    st.lists(
        st.builds(RunOther, value=st.none() | st.integers() | st.floats() | st.text())
        | st.builds(RunItem, id=st.integers(), when=st.datetimes() | st.none()),
        max_size=12,
    )
)
def test_runs_roundtrip_exactly(sameValue, tuples):
    """Any sequence of plain tuples, however grouped into runs, decodes to equal tuples."""
    got, _ = _roundTrip(tuples)
    assert len(got) == len(tuples)
    assert all(sameValue(a, b) for a, b in zip(tuples, got, strict=True))


def test_run_without_some_fields_gives_them_their_defaults():
    """Declared fields absent from ``k`` get fresh defaults, as in the per-tuple form."""
    payload = Payload.fromEncodedPayload(
        _body('{"~r":"tests.vortex.serialise.RunItem","k":["id"],"v":[[1],[2]]}')
    )
    assert [(t.id, t.when, t.tags) for t in payload.tuples] == [(1, None, []), (2, None, [])]
    assert payload.tuples[0].tags is not payload.tuples[1].tags


def test_sqlalchemy_run_decodes_to_mapped_objects():
    """A run of an SQLAlchemy declarative type (other writers may send one) decodes too."""
    payload = Payload.fromEncodedPayload(
        _body('{"~r":"tests.vortex.serialise.RunRow","k":["label","id"],"v":[["a",1]]}')
    )
    assert [(type(t), t.id, t.label) for t in payload.tuples] == [(RunRow, 1, "a")]


def test_encode_error_inside_a_run_names_the_tuple_index_and_field():
    """A bad value in a run's column is reported at its own tuple, not at the run."""
    with pytest.raises(VortexEncodeError) as info:
        Payload(
            tuples=[RunOther(value=1), RunOther(value=1), RunOther(value={1})]
        ).toEncodedPayload()
    assert info.value.where == "payload.tuples[2].value"


RUN = '{"~r":"tests.vortex.serialise.RunItem","k":%s,"v":%s}'


@pytest.mark.parametrize(
    ("run", "where"),
    [
        (RUN % ('["id"]', "[[1],[2,3]]"), "payload.tuples[1].v[1]"),
        (RUN % ('["id"]', "[[1],7]"), "payload.tuples[1].v[1]"),
        (RUN % ('["nope"]', "[[1]]"), "payload.tuples[1].k"),
        (RUN % ('["id","id"]', "[[1,1]]"), "payload.tuples[1].k"),
        (RUN % ('["id",3]', "[[1,1]]"), "payload.tuples[1].k"),
        (RUN % ('"id"', "[[1]]"), "payload.tuples[1].k"),
        (RUN % ('["id"]', "{}"), "payload.tuples[1].v"),
        (RUN % ('["id","when"]', '[[1,null],[2,{"~dt":"x"}]]'), "payload.tuples[1].v[1][1]['~dt']"),
        ('{"~r":1,"k":[],"v":[]}', "payload.tuples[1]"),
        ('{"~r":"nope.Nope","k":[],"v":[]}', "payload.tuples[1]"),
        ('{"~r":"tests.vortex.serialise.RunItem","k":[],"v":[],"x":1}', "payload.tuples[1]"),
    ],
)
def test_malformed_runs_raise_decode_error_with_location(run, where):
    """Every malformed run is a VortexDecodeError located at the offending part."""
    with pytest.raises(VortexDecodeError) as info:
        Payload.fromEncodedPayload(_body('{"~t":"tests.vortex.serialise.RunOther","value":1}', run))
    assert info.value.where == where


def test_run_outside_a_payloads_tuples_is_rejected():
    """``~r`` is only meaningful as an element of the top-level ``tuples`` array."""
    run = RUN % ('["id"]', "[[1],[2]]")
    with pytest.raises(VortexDecodeError):
        Payload.fromEncodedPayload(_body(f"[{run}]"))
    with pytest.raises(VortexDecodeError):
        Payload.fromEncodedPayload(b'{"v":1,"filt":{"r":%s},"tuples":[]}' % run.encode())


RUN_BODY = Payload(
    tuples=[RunItem(id=i, when=WHEN, tags=[RunOther(value=i)]) for i in range(3)]
).toEncodedPayload()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_runs_only_raise_decode_error(data):
    """A payload of runs with bytes flipped, inserted or deleted never raises anything else."""
    body = bytearray(RUN_BODY)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(body) - 1))
        if data.draw(st.booleans()):
            body[position] = data.draw(st.sampled_from(b'[]{}",:0a~ '))
        else:
            del body[position]
    try:
        Payload.fromEncodedPayload(bytes(body))
    except VortexDecodeError:
        pass
