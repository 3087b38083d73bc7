"""The noop plugin's tuple action processor: actions pushed by pages arrive here.

Field and office forward their devices' actions to it (``_private/device``) with the
logged-in user attached; each action gets exactly one answer, the delegate's result or its
error. A user lacking an action's permission gets a ``forbidden`` error instead.
"""

from peek_plugin_noop._private.logic.controller.MainController import MainController
from peek_plugin_noop._private.PluginNames import (
    noopActionProcessorName,
    noopEditPermission,
    noopFilt,
)
from peek_plugin_noop._private.tuples.NoopIncrementActionTuple import NoopIncrementActionTuple
from peek_plugin_noop._private.tuples.NoopToggleCapsActionTuple import NoopToggleCapsActionTuple
from vortex.handler.TupleActionProcessor import TupleActionProcessor


def makeTupleActionProcessorHandler(mainController: MainController) -> TupleActionProcessor:
    """Create the processor; the main controller is the delegate of each noop action."""
    processor = TupleActionProcessor(
        tupleActionProcessorName=noopActionProcessorName, additionalFilt=noopFilt
    )
    # One delegate per action type; an action of any other type is answered "no-delegate"
    # (pass defaultDelegate= to the processor to take every type instead).
    # Changing a value needs the edit permission: a device's user without it is refused and
    # the controller is not called. The caps toggle is open to every user, to show both.
    processor.setDelegate(
        NoopIncrementActionTuple, mainController, requiredPermissions=noopEditPermission
    )
    processor.setDelegate(NoopToggleCapsActionTuple, mainController)
    return processor
