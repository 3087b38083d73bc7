"""Tuple declaration, registration and behaviour."""

import pytest

from vortex.Tuple import (
    DuplicateTupleTypeError,
    Tuple,
    TupleField,
    TupleRegistry,
    addTupleType,
    tupleForTupleName,
)


@addTupleType
class StringIntTuple(Tuple):
    __tupleType__ = "tests.vortex.StringIntTuple"
    string1 = TupleField()
    int1 = TupleField(defaultValue=0)
    dict1 = TupleField(defaultValue=dict)


@addTupleType
class ChildTuple(StringIntTuple):
    __tupleType__ = "tests.vortex.ChildTuple"
    extra = TupleField(typingType=str)


def test_construction_uses_kwargs_and_fresh_defaults():
    """Kwargs set fields, others get defaults, and callable defaults are fresh per instance."""
    a, b = StringIntTuple(string1="x"), StringIntTuple()
    a.dict1["k"] = 1
    assert (a.string1, a.int1, b.dict1) == ("x", 0, {})


def test_unknown_constructor_field_is_a_type_error_naming_the_fields():
    """Passing an undeclared field name fails and lists the declared ones."""
    with pytest.raises(TypeError, match="has no tuple field 'nope'"):
        StringIntTuple(nope=1)


def test_item_access_is_limited_to_declared_fields():
    """t['field'] reads and writes declared fields; other names raise KeyError."""
    t = StringIntTuple(string1="x")
    t["int1"] = 5
    assert (t["string1"], t.int1) == ("x", 5)
    with pytest.raises(KeyError):
        t["__class__"]


def test_equality_is_by_type_and_fields():
    """Tuples are equal when type and every field match; a subclass instance is not equal."""
    assert StringIntTuple(string1="x") == StringIntTuple(string1="x")
    assert StringIntTuple(string1="x") != StringIntTuple(string1="y")
    assert StringIntTuple() != ChildTuple()


def test_fields_are_inherited_base_first():
    """A subclass serialises its base's fields first, then its own."""
    assert ChildTuple.tupleFieldNames() == ("string1", "int1", "dict1", "extra")


def test_names_and_lookup():
    """tupleName()/tupleType() return __tupleType__, and the registry finds the class by it."""
    assert (
        StringIntTuple.tupleName() == StringIntTuple().tupleType() == StringIntTuple.__tupleType__
    )
    assert tupleForTupleName("tests.vortex.ChildTuple") is ChildTuple


def test_duplicate_name_error_names_both_classes():
    """Registering a second class under a taken name fails, naming both module.qualname."""
    registry = TupleRegistry()

    class First(Tuple):
        __tupleType__ = "dup.Name"

    class Second(Tuple):
        __tupleType__ = "dup.Name"

    registry.register(First)
    registry.register(First)
    with pytest.raises(DuplicateTupleTypeError) as info:
        registry.register(Second)
    message = str(info.value)
    assert f"{__name__}.{First.__qualname__}" in message
    assert f"{__name__}.{Second.__qualname__}" in message


def test_class_without_its_own_tuple_type_is_refused():
    """A subclass that inherits but does not set __tupleType__ cannot be registered."""

    class Inheriting(StringIntTuple):
        pass

    with pytest.raises(TypeError, match="__tupleType__"):
        TupleRegistry().register(Inheriting)
