"""Run a Python command line in a new process group (``python -m ... own_group ARGS``).

The launcher starts each service through this, so a terminal's Ctrl-C (sent to the whole
foreground process group) reaches only the launcher, which then stops each service with a
single SIGTERM. Otherwise every service would get SIGINT and then the launcher's SIGTERM,
and would take the second signal as a request to exit at once.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    """Leave the parent's process group, then replace this process with ``python ARGS``."""
    os.setpgrp()
    os.execv(sys.executable, [sys.executable, *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
