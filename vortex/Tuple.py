"""Tuples: registered data classes that the vortex serialises by their ``__tupleType__`` name."""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from sqlalchemy.orm import Mapper

T = TypeVar("T", bound=type)


class TupleField:
    """Declares one serialised attribute of a Tuple class and its default value."""

    __slots__ = ("defaultValue", "name", "typingType")

    def __init__(self, defaultValue: Any = None, typingType: Any = None) -> None:
        self.defaultValue = defaultValue
        self.typingType = typingType
        self.name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def makeDefault(self) -> Any:
        """A fresh default: callables (``dict``, ``list``) are called, containers copied."""
        default = self.defaultValue
        if callable(default):
            return default()
        if isinstance(default, (list, dict, set)):
            return copy.copy(default)
        return default

    def __repr__(self) -> str:
        return f"TupleField(defaultValue={self.defaultValue!r})"

    if TYPE_CHECKING:
        # Typing only: an instance keeps each field's (plugin-defined) value in its own
        # __dict__, which shadows this class attribute; the class itself sees the TupleField.
        @overload
        def __get__(self, obj: None, owner: type) -> TupleField: ...
        @overload
        def __get__(self, obj: object, owner: type) -> Any: ...
        def __get__(self, obj: object, owner: type) -> Any: ...


class TupleSpec:
    """What the codec needs to know about one Tuple class: its fields and how to build it."""

    __slots__ = (
        "cls",
        "defaults",
        "fieldNames",
        "fieldSet",
        "isSqla",
        "mapper",
        "settable",
        "tupleType",
    )

    def __init__(self, cls: type[Tuple]) -> None:
        self.cls = cls
        self.tupleType: str = cls.__dict__["__tupleType__"]
        self.defaults: dict[str, TupleField] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, TupleField):
                    self.defaults.pop(name, None)
                    self.defaults[name] = value
        names = list(self.defaults)
        mapper: Mapper[Any] | None = getattr(cls, "__mapper__", None)
        #: The SQLAlchemy mapper of a declarative tuple class, else None.
        self.mapper = mapper
        self.isSqla = mapper is not None
        if mapper is not None:
            for prop in mapper.column_attrs:
                if prop.key not in self.defaults:
                    names.append(prop.key)
        self.fieldNames: tuple[str, ...] = tuple(names)
        self.fieldSet = frozenset(names)
        # SQLAlchemy constructors may also set relationships, which are not serialised.
        extra = [prop.key for prop in mapper.attrs] if mapper is not None else []
        self.settable = self.fieldSet.union(extra)


_SPECS: dict[type[Tuple], TupleSpec] = {}


def tupleSpec(cls: type[Tuple]) -> TupleSpec:
    """Return (building once, lazily so SQLAlchemy mappers are configured) the spec of cls."""
    spec = _SPECS.get(cls)
    if spec is None:
        if "__tupleType__" not in cls.__dict__:
            raise TypeError(
                f"{_qualName(cls)} has no __tupleType__ of its own; set it in the class body"
                " and decorate the class with @addTupleType"
            )
        spec = _SPECS[cls] = TupleSpec(cls)
    return spec


def _qualName(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Tuple:
    """Base of all vortex tuples; construct with keyword arguments naming declared fields."""

    __tupleType__: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        spec = tupleSpec(type(self))
        for name, field in spec.defaults.items():
            if name not in kwargs:
                setattr(self, name, field.makeDefault())
        for name, value in kwargs.items():
            if name not in spec.settable:
                raise TypeError(
                    f"{_qualName(type(self))} has no tuple field {name!r};"
                    f" declared fields are {sorted(spec.fieldSet)}"
                )
            setattr(self, name, value)

    @classmethod
    def tupleName(cls) -> str:
        """The registered wire name of this tuple class (its ``__tupleType__``)."""
        return cls.__tupleType__  # type: ignore[return-value]

    @classmethod
    def tupleType(cls) -> str:
        """Alias of :meth:`tupleName`, kept because plugin code uses both spellings."""
        return cls.__tupleType__  # type: ignore[return-value]

    @classmethod
    def tupleFieldNames(cls) -> tuple[str, ...]:
        """The serialised field names, in declaration order (base classes first)."""
        return tupleSpec(cls).fieldNames

    def _checkField(self, name: str) -> None:
        if name not in tupleSpec(type(self)).fieldSet:
            raise KeyError(f"{_qualName(type(self))} has no tuple field {name!r}")

    def __getitem__(self, name: str) -> Any:
        self._checkField(name)
        return getattr(self, name)

    def __setitem__(self, name: str, value: Any) -> None:
        self._checkField(name)
        setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tuple):
            return NotImplemented
        if type(other) is not type(self):
            return False
        return all(
            getattr(self, name, None) == getattr(other, name, None)
            for name in tupleSpec(type(self)).fieldNames
        )

    def __hash__(self) -> int:
        # Tuples are mutable, so only the type takes part; equal tuples still hash equal.
        return hash(type(self).__tupleType__)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name, None)!r}" for name in tupleSpec(type(self)).fieldNames
        )
        return f"{type(self).__name__}({fields})"


class DuplicateTupleTypeError(ValueError):
    """Two different classes claimed the same ``__tupleType__`` name."""


class TupleRegistry:
    """Maps wire names to tuple classes; the codec only ever constructs classes found here."""

    def __init__(self) -> None:
        self._byName: dict[str, type[Tuple]] = {}

    def register(self, cls: T) -> T:
        """Register cls under its ``__tupleType__``; re-registering the same class is a no-op."""
        if not (isinstance(cls, type) and issubclass(cls, Tuple)):
            raise TypeError(f"@addTupleType needs a subclass of vortex.Tuple.Tuple, got {cls!r}")
        name = cls.__dict__.get("__tupleType__")
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"{_qualName(cls)} must set __tupleType__ to a non-empty str in its own class body"
            )
        existing = self._byName.get(name)
        if existing is not None and existing is not cls:
            raise DuplicateTupleTypeError(
                f"tuple type name {name!r} is already registered by {_qualName(existing)};"
                f" {_qualName(cls)} must use a different __tupleType__"
            )
        self._byName[name] = cls
        return cls

    def forgetModules(self, packages: Collection[str]) -> list[str]:
        """Unregister the classes defined in ``packages`` or their submodules (their code is
        about to be imported again); the names forgotten."""

        def inPackages(module: str) -> bool:
            return any(module == p or module.startswith(p + ".") for p in packages)

        names = [n for n, cls in self._byName.items() if inPackages(cls.__module__)]
        for name in names:
            del self._byName[name]
        return names

    def get(self, name: str) -> type[Tuple] | None:
        """The class registered under name, or None."""
        return self._byName.get(name)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._byName)


defaultTupleRegistry = TupleRegistry()


def addTupleType(cls: T) -> T:
    """Class decorator registering a Tuple class in the process-wide registry."""
    return defaultTupleRegistry.register(cls)


def tupleForTupleName(name: str) -> type[Tuple] | None:
    """The class registered in the process-wide registry under name, or None."""
    return defaultTupleRegistry.get(name)
