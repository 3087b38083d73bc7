"""Tests for peek_platform/config/dotted.py: dotted config keys on nested documents."""

from __future__ import annotations

import pytest

from peek_platform.config import nestDotted, setDotted


def test_nest_dotted_merges_dotted_keys_and_sections():
    """Dotted keys and nested sections merge into one config.json document."""
    assert nestDotted({"a.b": 1, "a": {"c": 2}, "a.d.e": 3, "f": 4}) == {
        "a": {"b": 1, "c": 2, "d": {"e": 3}},
        "f": 4,
    }


def test_nest_dotted_refuses_a_key_under_a_value():
    """A dotted key below a plain value is an error naming the key."""
    with pytest.raises(ValueError, match=r"'a\.b': 'a' is set to a value"):
        nestDotted({"a": 1, "a.b": 2})


def test_set_dotted_creates_sections_and_keeps_siblings():
    """setDotted creates missing sections and leaves the other keys of a section alone."""
    document = {"a": {"x": 1}}
    setDotted(document, "a.b.c", 2)
    assert document == {"a": {"x": 1, "b": {"c": 2}}}


def test_set_dotted_refuses_a_key_under_a_value():
    """A section on the way that holds a plain value is an error naming the key."""
    with pytest.raises(ValueError, match=r"'a\.b': 'a' is set to a value"):
        setDotted({"a": 1}, "a.b", 2)
