"""Names and limits of the wire format (version 1); docs/vortex/wire-format.rst is the spec."""

import math

WIRE_FORMAT_VERSION = 1

#: Every reserved object key starts with this character.
PREFIX = "~"

TUPLE = "~t"
#: A run of consecutive tuples of one type, columnar; only in a payload's ``tuples``.
TUPLE_RUN = "~r"
INT = "~int"
FLOAT = "~f"
DATETIME = "~dt"
DATE = "~date"
DECIMAL = "~dec"
BYTES = "~b64"
ESCAPED_DICT = "~esc"

#: Largest integer magnitude written as a bare JSON number (exact in an IEEE double).
MAX_SAFE_INT = 2**53 - 1

#: Deepest nesting of lists, dicts and tuples inside one value.
MAX_DEPTH = 100

FLOAT_SPECIALS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def floatSpecialName(value: float) -> str:
    """Wire spelling of a non-finite float."""
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
