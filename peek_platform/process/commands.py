"""The commands a service process answers for operators (docs/dev/operations.rst).

Each service keeps one :class:`ServiceCommands` table (``ctx.commands``) that its features
fill: runtime plugin control, diagnostics. Logic runs a command on itself through the
table and on a linked service over the data exchange
(:mod:`peek_platform.vortex.service_commands`).

A command takes and returns plain JSON documents. A handler raises
:class:`ServiceCommandError` for an answer the operator should read ("not enabled here");
any other exception is logged with its traceback and answered as an internal error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred


class ServiceCommandError(Exception):
    """A command could not be done; the message is for the operator and names why."""


#: A command handler: JSON arguments in, a JSON document (or a Deferred of one) out.
CommandHandler = Callable[[dict[str, Any]], "dict[str, Any] | Deferred[dict[str, Any]]"]


class ServiceCommands:
    """The commands one service process answers, by name."""

    def __init__(self) -> None:
        self._handlers: dict[str, CommandHandler] = {}

    def add(self, name: str, handler: CommandHandler) -> Callable[[], None]:
        """Answer ``name`` with ``handler``; returns the function that removes it again."""
        if name in self._handlers:
            raise ValueError(f"service command {name!r} already has a handler")
        self._handlers[name] = handler

        def remove() -> None:
            self._handlers.pop(name, None)

        return remove

    def names(self) -> list[str]:
        """The commands answered, sorted."""
        return sorted(self._handlers)

    def run(self, name: str, args: dict[str, Any]) -> Deferred[dict[str, Any]]:
        """Run command ``name``; fails with ``ServiceCommandError`` for an unknown one."""
        handler = self._handlers.get(name)
        if handler is None:
            known = ", ".join(self.names()) or "none"
            return defer.fail(ServiceCommandError(f"unknown command {name!r} (known: {known})"))

        def invoke() -> Any:
            return handler(args)

        d: Deferred[dict[str, Any]] = defer.maybeDeferred(invoke)
        return d
