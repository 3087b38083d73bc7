"""A free localhost TCP port for a test server started as a child process."""

from __future__ import annotations

import socket


def freeTcpPort() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
