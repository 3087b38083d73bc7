"""``python -m peek_platform.cli`` runs the ``peek`` command."""

import sys

from peek_platform.cli.main import main

sys.exit(main())
