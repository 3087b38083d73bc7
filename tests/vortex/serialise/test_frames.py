"""Fast paths of the frame layer give the same bytes and values as the general codec."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.serialise import frames
from vortex.serialise.errors import VortexDecodeError
from vortex.TupleSelector import TupleSelector

WHEN = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def general(value):
    """What the general value encoder writes for value (the reference for the fast paths)."""
    return orjson.loads(frames._dumps(frames.encodeRooted(value, "x"), "x"))


@pytest.mark.parametrize(
    "filt",
    [
        {"key": "k", "n": 1, "f": 0.5, "b": True, "none": None},
        {"key": "k", "big": 2**60},
        {"key": "k", "nan": float("nan")},
        {"key": "k", "~tilde": 1},
        {"key": "k", "nested": {"a": [1, {"b": 2}]}},
        {"key": "k", "when": WHEN},
    ],
)
def test_header_filt_is_encoded_like_the_general_codec(filt):
    """encodeEnvelope writes any filt exactly as the general value encoder would."""
    header = orjson.loads(frames.encodeEnvelope(filt, None, None, None, None, None))
    assert header["filt"] == general(filt)


def test_encode_message_equals_envelope_of_payload():
    """encodeMessage gives the bytes of encodeEnvelope around encodePayload (no result/date)."""
    filt = {"key": "k", "msgId": "a:1", "n": 2}
    tuples = [[1, "x"], {"a": WHEN}]
    expected = frames.encodeEnvelope(
        filt, None, None, None, None, frames.encodePayload(filt, tuples, None, None)
    )
    assert frames.encodeMessage(filt, tuples) == expected


@pytest.mark.parametrize("result", ["done", 3, None, {"error": "x", "type": "T", "message": "m"}])
def test_plain_header_decodes_like_the_general_path(result):
    """decodeEnvelope gives the same parts for flat headers as for any other header."""
    msg = frames.encodeEnvelope({"key": "k", "i": 1}, "dest", "uuid", result, WHEN, b"{}")
    parts = frames.decodeEnvelope(msg)
    assert parts == ({"key": "k", "i": 1}, "dest", "uuid", result, WHEN, b"{}", None)


def test_received_date_is_parsed_only_when_read():
    """A received envelope keeps the date text until .date is read, then gives the datetime."""
    msg = PayloadEnvelope({"key": "k"}, date=WHEN).toVortexMsg()
    envelope = PayloadEnvelope.fromVortexMsg(msg)
    assert envelope._dateText == "2024-01-02T03:04:05.678901+00:00"
    assert envelope.date == WHEN and envelope._dateText is None


def test_forwarded_date_text_is_kept_byte_for_byte():
    """Re-encoding a received envelope writes its date text unchanged, even an offset one."""
    offset = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3, seconds=7)))
    msg = PayloadEnvelope({"key": "k"}, date=offset).toVortexMsg()
    forwarded = PayloadEnvelope.fromVortexMsg(msg)
    forwarded.destVortexName = "elsewhere"
    again = orjson.loads(forwarded.toVortexMsg())
    assert again["date"] == orjson.loads(msg)["date"]
    assert PayloadEnvelope.fromVortexMsg(forwarded.toVortexMsg()).date == offset


def test_bad_date_text_raises_decode_error_when_read():
    """A ~dt date that is not a datetime raises VortexDecodeError at header.date on read."""
    header = {"v": 1, "filt": {"key": "k"}, "date": {"~dt": "yesterday"}}
    envelope = PayloadEnvelope.fromVortexMsg(orjson.dumps(header))
    with pytest.raises(VortexDecodeError) as info:
        envelope.date  # noqa: B018
    assert info.value.where == "header.date['~dt']"
    with pytest.raises(VortexDecodeError):
        frames.decodeEnvelope(orjson.dumps(header))


def test_set_date_replaces_received_text():
    """Assigning .date on a received envelope makes toVortexMsg write the new date."""
    envelope = PayloadEnvelope.fromVortexMsg(PayloadEnvelope({"key": "k"}, date=WHEN).toVortexMsg())
    later = WHEN + timedelta(days=1)
    envelope.date = later
    assert PayloadEnvelope.fromVortexMsg(envelope.toVortexMsg()).date == later


@pytest.mark.parametrize(
    ("result", "withDate", "body"),
    [
        (None, False, b'{"v":1,"filt":{},"tuples":[],"result":null,"date":null}'),
        ({"error": "timeout", "type": "TimeoutError", "message": "late"}, True, None),
        ("done", True, b'{"a":1}'),
    ],
)
def test_a_tail_and_a_filt_make_the_same_bytes_as_the_whole_envelope(result, withDate, body):
    """encodeEnvelopeTail + envelopeWithTail (an update encoded once for many subscribers)
    give byte for byte what encodeEnvelopeWire gives for each subscriber's own filt."""
    date = (
        frames.wireDate(datetime(2026, 12, 3, 17, 4, 5, 123456, tzinfo=UTC)) if withDate else None
    )
    tail = frames.encodeEnvelopeTail(None, None, result, date, body)
    for filt in (
        {
            "key": "vortex.observable.data:x",
            "subId": "s1",
            "tupleSelector": TupleSelector("a.B", {"k": [1, "2"]}),
        },
        {"key": "k", "subId": "another"},
        {},
    ):
        whole = frames.encodeEnvelopeWire(filt, None, None, result, date, body)
        assert frames.envelopeWithTail(frames.encodeFilt(filt), tail) == whole
