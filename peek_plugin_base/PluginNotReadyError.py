"""The exception a plugin raises when it cannot load or start *yet*."""

from __future__ import annotations


class PluginNotReadyError(Exception):
    """Raised from ``load()`` or ``start()``: something outside the plugin is not ready yet.

    Raise it for a condition that is expected to clear by itself, such as "the external
    system is unreachable". The platform then does not fail the plugin: it marks it
    ``retrying`` and calls the step again later, with capped exponential backoff, showing
    the message as the reason ("retrying in 4 s (attempt 3): the external system is
    unreachable"). Any other exception fails the plugin at once.

    ``message`` is the reason shown to the operator; keep it short and say what is missing.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
