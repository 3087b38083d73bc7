"""Tuple fields that state their value type once: for mypy, and for a run-time check.

``name = field(str)`` declares a vortex tuple field exactly as ``TupleField(typingType=str)``
does (same default, same wire format); mypy reads ``tup.name`` as ``str`` and
:meth:`ValidatedTuple.validate` checks the value is one::

    @addTupleType
    class PluginStatusTuple(ValidatedTuple):
        __tupleType__ = "peek_platform.PluginStatusTuple"

        name = field(str)
        reason = optionalField(str)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, overload

from vortex.Tuple import Tuple, TupleField, tupleSpec

T = TypeVar("T")


class TupleFieldTypeError(ValueError):
    """A tuple field's value does not have the field's type; names the tuple and the field."""


class TypedField(TupleField, Generic[T]):
    """A ``TupleField`` whose value type ``T`` is stated once, by one of the functions below.

    As for every ``TupleField``, the class attribute stays the field (the vortex reads its
    default) and each instance keeps its value in its own ``__dict__``; only mypy sees
    the attribute as ``T`` (the ``__get__``/``__set__`` below exist for type checking only).
    """

    __slots__ = ("itemType", "optional", "validated", "valueType")

    def __init__(
        self,
        valueType: type | None,
        defaultValue: object = None,
        *,
        optional: bool = False,
        itemType: type | None = None,
        validated: bool = True,
    ) -> None:
        super().__init__(defaultValue, typingType=valueType)
        #: The exact type a value must have (``None``: anything, never checked).
        self.valueType = valueType
        #: ``None`` is a valid value too.
        self.optional = optional
        #: For a list: the type each item must be an instance of.
        self.itemType = itemType
        #: Whether :meth:`ValidatedTuple.validate` checks this field.
        self.validated = validated

    def check(self, tup: Tuple, name: str, error: type[TupleFieldTypeError]) -> None:
        """Raise ``error`` unless ``tup``'s value of this field (``name``) has its type.

        The value's type must be exactly ``valueType`` (a ``bool`` is no ``int``), or the
        value ``None`` for an optional field. A list's items must be instances of
        ``itemType``; those that are :class:`ValidatedTuple` instances are validated too.
        """
        if self.valueType is None:
            return
        value = getattr(tup, name, None)
        if value is None and self.optional:
            return
        if type(value) is not self.valueType:
            expected = self.valueType.__name__ + (" or None" if self.optional else "")
            raise error(
                f"{type(tup).__tupleType__}.{name} must be {expected}, got "
                f"{type(value).__name__} {value!r:.80}"
            )
        if self.itemType is None or not isinstance(value, list):
            return  # only list fields have an item type
        for item in value:
            if not isinstance(item, self.itemType):
                raise error(
                    f"{type(tup).__tupleType__}.{name} must hold {self.itemType.__name__}, got "
                    f"{type(item).__name__}"
                )
            if isinstance(item, ValidatedTuple):
                item.validate()

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: type) -> Self: ...
        @overload
        def __get__(self, obj: object, owner: type) -> T: ...
        def __get__(self, obj: object, owner: type) -> Self | T: ...
        def __set__(self, obj: object, value: T) -> None: ...


def field(valueType: type[T], default: T | None = None, *, validated: bool = True) -> TypedField[T]:
    """A field holding a ``valueType`` (``default`` until set; the default default is None)."""
    return TypedField(valueType, default, validated=validated)


def optionalField(valueType: type[T], *, validated: bool = True) -> TypedField[T | None]:
    """A field holding a ``valueType`` or ``None`` (the default)."""
    return TypedField(valueType, optional=True, validated=validated)


def listField(itemType: type[T], *, validated: bool = True) -> TypedField[list[T]]:
    """A list of ``itemType`` instances; each tuple starts with a new empty list."""
    return TypedField(list, list, itemType=itemType, validated=validated)


def anyField() -> TypedField[Any]:
    """A field holding any serialisable value (a plugin's setting, a config value); unchecked."""
    return TypedField(None, validated=False)


class ValidatedTuple(Tuple):
    """A Tuple whose :meth:`validate` checks its :class:`TypedField` values against their types."""

    #: What :meth:`validate` raises; a family of tuples may name its own subclass.
    fieldTypeError: ClassVar[type[TupleFieldTypeError]] = TupleFieldTypeError

    def validate(self) -> Self:
        """Raise ``fieldTypeError`` at the first field (in declaration order) whose value
        does not have the field's type; return self."""
        for name, tupleField in tupleSpec(type(self)).defaults.items():
            if isinstance(tupleField, TypedField) and tupleField.validated:
                tupleField.check(self, name, self.fieldTypeError)
        return self
