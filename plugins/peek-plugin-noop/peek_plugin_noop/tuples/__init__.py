"""Tuples the noop plugin shares with other plugins (see ``logic/NoopApiABC.py``)."""


def loadPublicTuples() -> None:
    """Import every public tuple module, registering its tuples with the vortex."""
    from peek_plugin_noop.tuples import DoSomethingTuple  # noqa: F401
