"""Run a call inside a service and describe how it ended as a MsgTestOutcomeTuple."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from peek_plugin_msgtest._private.tuples import MsgTestOutcomeTuple


def outcomeOf(call: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred:
    """A Deferred that always succeeds with the outcome of ``call(*args, **kwargs)``."""
    d = defer.maybeDeferred(call, *args, **kwargs)
    settledAtOnce = d.called

    def succeeded(value: Any) -> MsgTestOutcomeTuple:
        return MsgTestOutcomeTuple(value=value, settledAtOnce=settledAtOnce)

    def failed(failure: Failure) -> MsgTestOutcomeTuple:
        error = failure.value
        return MsgTestOutcomeTuple(
            errorClass=type(error).__name__,
            code=getattr(error, "code", None),
            remoteType=getattr(error, "remoteType", None),
            remoteMessage=getattr(error, "remoteMessage", None),
            message=str(error),
            settledAtOnce=settledAtOnce,
        )

    return d.addCallbacks(succeeded, failed)
