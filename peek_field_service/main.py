"""Console entry point of the Peek field service (``run_peek_field_service``)."""

import sys

from peek_field_service.service import compose
from peek_platform.process import runService
from peek_platform.services import FIELD


def main() -> None:
    """Run the field service with the process's command line and exit with its status."""
    sys.exit(runService(FIELD, compose=compose))
