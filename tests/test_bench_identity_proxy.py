"""bench/identity_proxy.py: a ``--quick`` run prints every variant's row and every verdict.

A smoke test only: the benchmark's figures are printed, never asserted (the machine is
shared); what is checked is that every path answers without errors and the report is whole.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH = REPO_ROOT / "bench" / "identity_proxy.py"
ROWS = (
    "action none",
    "action anon",
    "action user",
    "rpc none",
    "rpc anon",
    "rpc user",
    "w2 service",
)
VERDICTS = tuple(
    f"{label} {phase}"
    for label in ("action", "rpc", "action vs none", "rpc vs none")
    for phase in ("sequential", "in flight")
)
#: A table row: name, seq calls/s, p50 ms, CPU us, in-flight calls/s, CPU us, errors, path.
ROW = r"^{name} +(\d+) +\d+\.\d+ +\d+ +(\d+) +\d+ +(\d+)  \S"


def test_quick_run_prints_every_row_and_a_verdict_per_comparison():
    """``--quick`` exits 0 and prints a row per variant (non-zero rates, no errors), the
    W2-style reference line, and "identity costs X% (limit 10%)" for each comparison."""
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for name in ROWS:
        row = re.search(ROW.format(name=name), out, re.MULTILINE)
        assert row is not None, f"no table row for {name!r} in:\n{out}"
        seqRate, inFlightRate, errors = (int(group) for group in row.groups())
        assert seqRate > 0 and inFlightRate > 0, row.group(0)
        assert errors == 0, row.group(0)
    assert "W2-style service RPC in this run:" in out
    for comparison in VERDICTS:
        verdict = rf"^{comparison}: +identity costs -?\d+\.\d% \(limit 10%\)"
        assert re.search(verdict, out, re.MULTILINE), f"no verdict for {comparison!r} in:\n{out}"
