"""The two exceptions the codec raises: one for decoding, one for encoding."""


class _PathError(ValueError):
    """Error with a human message (what) and a location (where) inside a value."""

    def __init__(self, what: str, where: str = "") -> None:
        self.what = what
        self._segments: list[str] = []
        self._root = where
        super().__init__(what)

    def addSegment(self, segment: str) -> None:
        """Prepend one path segment while the error unwinds out of nested values."""
        self._segments.append(segment)

    def setRoot(self, root: str) -> None:
        """Name the top-level part (e.g. ``header.filt``) the path is relative to."""
        self._root = root

    @property
    def where(self) -> str:
        """Location of the offending value, e.g. ``body.tuples[3].when``."""
        return self._root + "".join(reversed(self._segments))

    def __str__(self) -> str:
        where = self.where
        return f"{self.what} (at {where})" if where else self.what


class VortexDecodeError(_PathError):
    """Raised for any malformed, hostile or unsupported vortex frame or encoded payload."""


class VortexEncodeError(_PathError):
    """Raised when a value cannot be put on the wire (unsupported type, unregistered tuple)."""
