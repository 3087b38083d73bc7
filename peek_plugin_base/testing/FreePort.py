"""Free localhost TCP ports for test servers started as child processes.

``freeTcpPort`` lets the OS pick one port; ``freeTcpPortBlock`` finds a base port with a
fixed layout of free ports around it (for programs that listen on ``base + offset``);
``heldTcpPort`` keeps a port taken for a block, for tests of a port in use or refused.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

#: Range searched for port blocks: below Linux's ephemeral ports (32768+), which the kernel
#: hands to outgoing connections and to port-0 binds, so a block chosen now is not taken by
#: them before the server listens.
PORT_BLOCK_RANGE = (20000, 32000)


def freeTcpPort() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tcpPortIsFree(port: int) -> bool:
    """True when ``port`` can be bound on every interface right now."""
    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def freeTcpPortBlock(
    offsets: Sequence[int], *, attempts: int = 200, portRange: tuple[int, int] = PORT_BLOCK_RANGE
) -> int:
    """A base port in ``portRange`` such that ``base + offset`` is free for every offset.

    ``freeTcpPortBlock([0])`` is one free port outside the ephemeral range. Raises
    ``RuntimeError`` naming the offsets when ``attempts`` random bases all collide.
    """
    low, high = portRange
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(low, high - max(offsets))
        if all(tcpPortIsFree(base + offset) for offset in offsets):
            return base
    raise RuntimeError(f"no free block of ports {list(offsets)} found in {portRange}")


@contextmanager
def heldTcpPort(*, listen: bool = False) -> Iterator[int]:
    """A TCP port on 127.0.0.1 bound by this process until the ``with`` block ends.

    Without ``listen`` a connection to it is refused at once, and no other program can take
    it; with ``listen`` it is a port in use (connections queue, binds fail).
    """
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        if listen:
            holder.listen()
        yield holder.getsockname()[1]
