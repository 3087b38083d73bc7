"""Console entry point of the Peek logic service (``run_peek_logic_service``)."""

import sys

from peek_logic_service.service import compose
from peek_platform.process import runService
from peek_platform.services import LOGIC


def main() -> None:
    """Run the logic service with the process's command line and exit with its status."""
    sys.exit(runService(LOGIC, compose=compose))
