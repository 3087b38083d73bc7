"""Console entry point of the Peek agent service (``run_peek_agent_service``)."""

import sys

from peek_agent_service.service import compose
from peek_platform.process import runService
from peek_platform.services import AGENT


def main() -> None:
    """Run the agent service with the process's command line and exit with its status."""
    sys.exit(runService(AGENT, compose=compose))
