"""Case files of the r-z (axisymmetric) geometry and of bulk values that vary in space,
through ``femli run``: a closed form from the command line, and bad input that only the
mesh can reveal (exit 2, one message, no traceback)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from mpi4py import MPI
from shared_cases import TINY

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: runs its own processes")


def femli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "femli", "-q", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def one_error(result: subprocess.CompletedProcess) -> str:
    """Exit 2, no traceback, one ``error:`` message; its text."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("error: ") == 1
    return result.stderr


@serial
def test_sphere_in_a_sphere_from_the_cli(tmp_path):
    """The r-z example's total current is the closed form's within 1 % (measured 0.27 %)."""
    done = femli("run", str(EXAMPLES / "axisymmetric" / "sphere_primary.toml"), "-o", "out",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    sphere = json.loads((tmp_path / "out" / "metrics.json").read_text())["electrodes"]["sphere"]
    a, b, kappa = 1e-6, 10e-6, 0.5
    quarter = -0.01 / ((1 / a - 1 / b) / (4 * np.pi * kappa)) / 2  # the mesh is z >= 0
    assert sphere["total_current_A"] == pytest.approx(quarter, rel=0.01)
    assert sphere["footprint_area_m2"] == pytest.approx(np.pi * b**2)  # a disc in r-z


def write(folder: Path, change) -> Path:
    data = copy.deepcopy(TINY)
    change(data)
    path = folder / "case.toml"
    path.write_text(tomli_w.dumps(data))
    return path


@serial
def test_mesh_time_problems_are_clean_errors(tmp_path):
    """A 3D geometry read as r-z (caught before meshing, by check and run alike) and a bulk
    concentration that is negative on part of its boundary (caught once meshed)."""
    three_d = write(tmp_path, lambda d: d["geometry"].update(dim=3, axisymmetric=True))
    for command in ("check", "run"):
        stderr = one_error(femli(command, str(three_d), cwd=tmp_path))
        assert "geometry.axisymmetric = true: an r-z geometry is 2D" in stderr and "3D" in stderr
    bulk = {"boundaries": ["bulk"], "concentrations": {"Li+": "1000 - 2e8*x", "TFSI-": 1000.0}}
    negative = write(tmp_path, lambda d: d.update(bulk=[bulk]))
    stderr = one_error(femli("run", str(negative), cwd=tmp_path))
    assert "bulk[0].concentrations.Li+ = '1000 - 2e8*x': gives -" in stderr
    assert "it must be finite and > 0 mol/m3 there" in stderr
