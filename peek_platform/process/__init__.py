"""Process entry and shutdown of a Peek service, and supervision of child processes."""

from peek_platform.process.context import PlatformHookFactory, ServiceContext, ServiceExtension
from peek_platform.process.runner import buildArgumentParser, runService

__all__ = [
    "PlatformHookFactory",
    "ServiceContext",
    "ServiceExtension",
    "buildArgumentParser",
    "runService",
]
