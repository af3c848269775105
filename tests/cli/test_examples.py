"""The runnable examples run and print what their READMEs report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_current_distribution_example():
    script = ROOT / "examples" / "current_distribution" / "run.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:4]}
    assert float(rows["primary"][4]) > 1.8  # geometric focusing at the tips
    assert float(rows["secondary"][4]) < 1.01  # fast kinetics: uniform
    assert float(rows["tertiary"][4]) < 1.01
