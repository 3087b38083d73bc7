"""TupleSelector: stable key, equality and hashing."""

from datetime import UTC, datetime

import pytest

from vortex.SerialiseUtil import VortexDecodeError
from vortex.TupleSelector import TupleSelector


def test_key_is_independent_of_dict_insertion_order():
    """Two selectors with the same items in a different order have the same toJsonStr key."""
    a = TupleSelector("pkg.T", {"b": 1, "a": {"y": 2, "x": [1, None]}})
    b = TupleSelector("pkg.T", {"a": {"x": [1, None], "y": 2}, "b": 1})
    assert a.toJsonStr() == b.toJsonStr()
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1


@pytest.mark.parametrize(
    "other",
    [
        TupleSelector("pkg.T", {"n": 1.0}),
        TupleSelector("pkg.T", {"n": True}),
        TupleSelector("x", {"n": 1}),
    ],
)
def test_different_selectors_have_different_keys(other):
    """Selectors differing in name or in value type (1, 1.0, True) are not equal."""
    assert TupleSelector("pkg.T", {"n": 1}) != other
    assert TupleSelector("pkg.T", {"n": 1}).toJsonStr() != other.toJsonStr()


def test_from_json_str_restores_the_selector():
    """fromJsonStr(toJsonStr()) gives back an equal selector, tagged values included."""
    selector = TupleSelector("pkg.T", {"since": datetime(2024, 1, 1, tzinfo=UTC), "big": 2**80})
    restored = TupleSelector.fromJsonStr(selector.toJsonStr())
    assert restored == selector and restored.selector["big"] == 2**80


@pytest.mark.parametrize("text", ["[]", '{"name": "x"}', '{"name": "x", "selector": 1}', "{"])
def test_from_json_str_rejects_other_shapes(text):
    """fromJsonStr refuses strings that are not a selector key, with VortexDecodeError."""
    with pytest.raises(VortexDecodeError):
        TupleSelector.fromJsonStr(text)


def test_tuple_selector_is_a_registered_tuple():
    """TupleSelector is itself a tuple, so it can travel in filts and payloads."""
    assert TupleSelector.tupleName() == "vortex.TupleSelector"
    assert TupleSelector("a").selector == {}
