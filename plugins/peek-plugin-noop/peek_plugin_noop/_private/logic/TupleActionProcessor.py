"""The noop plugin's tuple action processor: actions pushed by pages arrive here.

Field and office forward their devices' actions to it (``_private/device``); each action
gets exactly one answer, the delegate's result or its error.
"""

from peek_plugin_noop._private.logic.controller.MainController import MainController
from peek_plugin_noop._private.PluginNames import noopActionProcessorName, noopFilt
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
    processor.setDelegate(NoopIncrementActionTuple, mainController)
    processor.setDelegate(NoopToggleCapsActionTuple, mainController)
    return processor
