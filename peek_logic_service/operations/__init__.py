"""Operating the running platform from logic: service commands to every linked service."""

from peek_logic_service.operations.extension import PlatformCommandsExtension
from peek_logic_service.operations.platform_commands import PlatformCommands

__all__ = ["PlatformCommands", "PlatformCommandsExtension"]
