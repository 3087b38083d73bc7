"""Tuples private to the noop plugin (other plugins must not use them)."""


def loadPrivateTuples() -> None:
    """Import every private tuple module, registering its tuples with the vortex.

    A service can only decode the tuples registered in it, so every entry hook calls this
    from ``load()``.
    """
    from peek_plugin_noop._private.tuples import (  # noqa: F401
        NoopIncrementActionTuple,
        NoopToggleCapsActionTuple,
    )
