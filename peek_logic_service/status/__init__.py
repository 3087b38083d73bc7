"""Logic's live platform status: what every service reports over its link, and its plugins."""

from peek_logic_service.status.extension import PlatformStatusExtension
from peek_logic_service.status.view import PlatformStatusView

__all__ = ["PlatformStatusExtension", "PlatformStatusView"]
