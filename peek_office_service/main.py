"""Console entry point of the Peek office service (``run_peek_office_service``)."""

import sys

from peek_office_service.service import compose
from peek_platform.process import runService
from peek_platform.services import OFFICE


def main() -> None:
    """Run the office service with the process's command line and exit with its status."""
    sys.exit(runService(OFFICE, compose=compose))
