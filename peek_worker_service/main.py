"""Console entry point of the Peek worker service (``run_peek_worker_service``)."""

import sys

from peek_platform.process import runService
from peek_platform.services import WORKER
from peek_worker_service.service import compose


def main() -> None:
    """Run the worker service with the process's command line and exit with its status."""
    sys.exit(runService(WORKER, compose=compose))
