"""Shared fixtures for the vortex data-layer tests: exact-equality comparison of values."""

import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from vortex.Tuple import Tuple


def _sameValue(a: Any, b: Any) -> bool:
    """True when b is an exact copy of a: same types all the way down, NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if type(a) is Decimal:
        return str(a) == str(b)
    if type(a) is datetime:
        return (
            a.replace(tzinfo=None) == b.replace(tzinfo=None)
            and (a.tzinfo is None) == (b.tzinfo is None)
            and a.utcoffset() == b.utcoffset()
        )
    if type(a) is date:
        return a == b
    if type(a) is dict:
        return a.keys() == b.keys() and all(_sameValue(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(_sameValue(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Tuple):
        return all(
            _sameValue(getattr(a, name), getattr(b, name)) for name in type(a).tupleFieldNames()
        )
    return a == b


@pytest.fixture(scope="session")
def sameValue() -> Callable[[Any, Any], bool]:
    """Exact deep comparison (types, NaN, -0.0, datetime offsets, Decimal exponents)."""
    return _sameValue
