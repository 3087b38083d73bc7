"""The vortex of a Peek service: data exchange links to logic, secrets, and status reports."""

from peek_platform.vortex.extension import (
    DataExchangeClientExtension,
    DataExchangeServerExtension,
)
from peek_platform.vortex.settings import DataExchangeConfigError

__all__ = [
    "DataExchangeClientExtension",
    "DataExchangeConfigError",
    "DataExchangeServerExtension",
]
