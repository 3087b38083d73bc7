"""Property tests: every supported value survives encode → wire → decode exactly."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.SerialiseUtil import VortexEncodeError, fromJsonBytes, toJsonBytes
from vortex.Tuple import Tuple, TupleField, addTupleType

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@addTupleType
class RoundTripHolder(Tuple):
    __tupleType__ = "tests.vortex.serialise.RoundTripHolder"
    first = TupleField()
    second = TupleField(defaultValue=list)


@addTupleType
class RoundTripLeaf(Tuple):
    __tupleType__ = "tests.vortex.serialise.RoundTripLeaf"
    value = TupleField()


offsets = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
)
timezones = st.just(UTC) | st.builds(timezone, offsets)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
    st.datetimes(),
    st.datetimes(timezones=timezones),
    st.dates(),
    st.decimals(allow_nan=True, allow_infinity=True),
)
keys = st.text(max_size=6) | st.sampled_from(["~t", "~esc", "~dt", "~", "~int", "v", "filt"])


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        st.builds(RoundTripLeaf, value=children),
        st.builds(RoundTripHolder, first=children, second=st.lists(children, max_size=3)),
    )


values = st.recursive(scalars, _containers, max_leaves=12)


@SETTINGS
@given(values)
def test_value_roundtrip_is_exact(sameValue, value):
    """Any supported value, however nested, decodes to an identical value and type."""
    assert sameValue(value, fromJsonBytes(toJsonBytes(value)))


@SETTINGS
@given(values, values, st.lists(values, max_size=3))
def test_payload_roundtrip_through_envelope_is_exact(sameValue, filtValue, result, tuples):
    """Payload filt, tuples, result and date all survive makePayloadEnvelope → wire → decode."""
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=-3)))
    sent = Payload(
        filt={"key": "k", "v": filtValue},
        tuples=[RoundTripLeaf(value=v) for v in tuples],
        result=result,
        date=when,
    )
    envelope = PayloadEnvelope.fromVortexMsg(sent.makePayloadEnvelope().toVortexMsg())
    got = envelope.decodePayload()
    assert sameValue(sent.filt, envelope.filt)
    assert sameValue(result, envelope.result)
    assert sameValue(sent.filt, got.filt)
    assert sameValue(sent.tuples, got.tuples)
    assert sameValue(result, got.result)
    assert sameValue(when, got.date)


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        -0.0,
        2**53,
        -(2**53),
        2**64 + 1,
        -(10**100),
        Decimal("NaN"),
        Decimal("-sNaN12"),
        Decimal("-Infinity"),
        Decimal("-0.000"),
        Decimal("1E+30"),
        datetime(2024, 1, 1, 0, 0, 0, 1),
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 5, tzinfo=timezone(timedelta(hours=5, seconds=7, microseconds=9))),
        date(1, 1, 1),
        b"\x00\xff",
        {"~t": {"~dt": 1}},
    ],
    ids=repr,
)
def test_edge_values_roundtrip_exactly(sameValue, value):
    """Special floats, big ints, all Decimal kinds, odd tz offsets and tag-like dicts survive."""
    assert sameValue(value, fromJsonBytes(toJsonBytes(value)))


def test_naive_and_aware_datetimes_stay_distinct():
    """A naive datetime decodes naive and a UTC one decodes aware, though the clock matches."""
    naive, aware = fromJsonBytes(
        toJsonBytes([datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=UTC)])
    )
    assert naive.tzinfo is None
    assert aware.utcoffset() == timedelta(0)


def test_safe_ints_are_bare_json_numbers_and_big_ints_are_tagged():
    """Ints within ±(2**53-1) are plain JSON numbers; larger ones are tagged decimal strings."""
    encoded = orjson.loads(toJsonBytes([2**53 - 1, 2**53]))
    assert encoded == [2**53 - 1, {"~int": str(2**53)}]


def test_dict_with_reserved_key_is_escaped_on_the_wire():
    """A user dict whose key starts with '~' is wrapped in ~esc so it cannot pose as a tag."""
    assert orjson.loads(toJsonBytes({"~t": "x"})) == {"~esc": {"~t": "x"}}


def test_sqlalchemy_declarative_tuple_roundtrips_its_columns(sameValue):
    """An SQLAlchemy declarative Tuple round-trips its mapped columns as a mapped object."""
    from sqlalchemy import Column, DateTime, Integer, String, inspect
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    @addTupleType
    class StringIntTuple(Tuple, Base):
        __tupleType__ = "tests.vortex.serialise.StringIntTuple"
        __tablename__ = "StringIntTuple"
        id = Column(Integer, primary_key=True, autoincrement=True)
        string1 = Column(String(50))
        int1 = Column("int_one", Integer)
        stamp = Column(DateTime(timezone=True))

    sent = StringIntTuple(id=3, string1="abc", int1=7, stamp=datetime(2024, 1, 2, tzinfo=UTC))
    got = Payload.fromEncodedPayload(Payload(tuples=[sent]).toEncodedPayload()).tuples[0]
    assert StringIntTuple.tupleFieldNames() == ("id", "string1", "int1", "stamp")
    assert type(got) is StringIntTuple
    assert sameValue(sent, got)
    assert inspect(got).transient


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": {1, 2}}, "value['a']"),
        ([1, {2: "x"}], "value[1]"),
        (RoundTripLeaf(value=[object()]), "value.value[0]"),
        (bytearray(b"x"), "value"),
        (Decimal, "value"),
    ],
)
def test_unsupported_values_raise_encode_error_with_path(value, where):
    """Values the wire cannot carry raise VortexEncodeError naming where they are."""
    with pytest.raises(VortexEncodeError) as info:
        toJsonBytes(value)
    assert info.value.where == where


def test_unregistered_tuple_is_refused_on_encode():
    """Encoding a Tuple class that was never registered fails instead of sending it."""

    class Unregistered(Tuple):
        __tupleType__ = "tests.vortex.serialise.Unregistered"
        a = TupleField()

    with pytest.raises(VortexEncodeError, match="not registered"):
        Payload(tuples=[Unregistered(a=1)]).toEncodedPayload()


def test_too_deep_value_is_refused_on_encode():
    """A value nested past the depth limit raises VortexEncodeError, not RecursionError."""
    value: list = []
    for _ in range(500):
        value = [value]
    with pytest.raises(VortexEncodeError, match="deeper"):
        toJsonBytes(value)
