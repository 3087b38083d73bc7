"""Stand-ins for a vortex server endpoint and its links, for the web site tests."""

from __future__ import annotations


class FakeLink:
    """Stands in for an open VortexConnection: its peer address and how it was closed."""

    def __init__(self, peerAddress: str) -> None:
        self.peerAddress = peerAddress
        self.closed: tuple[str, int] | None = None

    def close(self, reason: str, code: int) -> None:
        self.closed = (reason, code)


class FakeEndpoint:
    """Stands in for a VortexServerEndpoint: its websocket resource and open links."""

    def __init__(self, resource) -> None:
        self.resource = resource
        self.connections: list[FakeLink] = []

    def linkAt(self, peerAddress: str) -> FakeLink | None:
        return next((c for c in self.connections if c.peerAddress == peerAddress), None)

    def linkCountFrom(self, host: str) -> int:
        return sum(1 for c in self.connections if c.peerAddress.rpartition(":")[0] == host)
