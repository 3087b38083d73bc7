"""TupleSelector: names a tuple type plus a selector dict; the key observables cache by."""

from __future__ import annotations

from vortex.SerialiseUtil import VortexDecodeError, fromJsonBytes, toJsonBytes
from vortex.Tuple import Tuple, TupleField, addTupleType


@addTupleType
class TupleSelector(Tuple):
    """Selects tuples of type ``name`` matching ``selector``; hashable by its JSON key."""

    __tupleType__ = "vortex.TupleSelector"

    name = TupleField()
    selector = TupleField(defaultValue=dict)

    def __init__(self, name: str | None = None, selector: dict | None = None) -> None:
        super().__init__(name=name, selector={} if selector is None else selector)

    def toJsonStr(self) -> str:
        """A stable key: sorted-key JSON of name and selector (values keep their wire tags)."""
        return toJsonBytes({"name": self.name, "selector": self.selector}, sortKeys=True).decode()

    @classmethod
    def fromJsonStr(cls, jsonStr: str) -> TupleSelector:
        """Rebuild a selector from :meth:`toJsonStr` output; bad input → VortexDecodeError."""
        data = fromJsonBytes(jsonStr)
        if (
            type(data) is not dict
            or data.keys() != {"name", "selector"}
            or type(data["selector"]) is not dict
        ):
            raise VortexDecodeError(
                "a TupleSelector key must be an object with exactly 'name' and 'selector'",
                "value",
            )
        return cls(data["name"], data["selector"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TupleSelector):
            return NotImplemented
        return self.toJsonStr() == other.toJsonStr()

    def __hash__(self) -> int:
        return hash(self.toJsonStr())

    def __repr__(self) -> str:
        return f"TupleSelector({self.name!r}, {self.selector!r})"
