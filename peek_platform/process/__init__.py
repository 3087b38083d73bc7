"""Process entry and shutdown of a Peek service, and supervision of child processes."""

from peek_platform.process.assembly import (
    Composer,
    ServiceComposition,
    SiteTrees,
    assemble,
    serviceComposer,
    siteTrees,
)
from peek_platform.process.context import (
    PlatformHookFactory,
    ServiceContext,
    ServiceExtension,
    ServiceExtensionBase,
    ServiceReactor,
)
from peek_platform.process.runner import buildArgumentParser, runService

__all__ = [
    "Composer",
    "PlatformHookFactory",
    "ServiceComposition",
    "ServiceContext",
    "ServiceExtension",
    "ServiceExtensionBase",
    "ServiceReactor",
    "SiteTrees",
    "assemble",
    "buildArgumentParser",
    "runService",
    "serviceComposer",
    "siteTrees",
]
