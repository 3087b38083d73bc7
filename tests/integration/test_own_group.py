"""``python -m peek_platform.process.own_group`` runs its command in a new process group."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_command_runs_in_its_own_process_group_with_same_pid():
    """The command replaces the shim (same pid) and leads a new process group."""
    script = "import os; print(os.getpid(), os.getpgrp())"
    with subprocess.Popen(
        [sys.executable, "-m", "peek_platform.process.own_group", "-c", script],
        stdout=subprocess.PIPE,
        text=True,
    ) as shim:
        out, _ = shim.communicate(timeout=20)
    pid, pgrp = map(int, out.split())
    assert pid == shim.pid
    assert pgrp == pid
    assert pgrp != os.getpgrp()
