"""The reactor type the vortex takes, and Twisted's global reactor typed as one."""

from __future__ import annotations

from typing import cast

from twisted.internet.interfaces import IReactorSSL, IReactorTCP, IReactorThreads, IReactorTime


class IVortexReactor(IReactorTime, IReactorTCP, IReactorSSL, IReactorThreads):
    """What the vortex uses of a reactor: timers, TCP and TLS sockets and its thread pool.

    A typing aid: Twisted's reactors provide all four without declaring this interface.
    """


def globalReactor() -> IVortexReactor:
    """Twisted's global reactor, imported only when needed (the import installs it)."""
    from twisted.internet import reactor

    return cast(IVortexReactor, reactor)
