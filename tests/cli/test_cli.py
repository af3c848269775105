"""The console script: version, info, and the demo's outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import femli
from femli.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"femli {femli.__version__}"


def test_info_lists_versions_and_solvers():
    result = subprocess.run(
        [sys.executable, "-m", "femli", "info"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for word in ("dolfinx", "petsc", "gmsh", "mpi size", "mumps"):
        assert word in result.stdout
    assert "hypre" in result.stdout.split("not built")[1]


@pytest.mark.mpi
def test_demo_writes_every_output(mpi_tmp_path):
    out = mpi_tmp_path / "demo"
    from mpi4py import MPI

    from femli.demo import run_demo

    metrics = run_demo(out, MPI.COMM_WORLD)
    lithium = metrics["electrodes"]["lithium"]
    assert lithium["mean_current_density_A_m2"] == pytest.approx(-200.0, rel=1e-7)  # 20 mA/cm2
    deposition = lithium["deposition_current_density"]
    assert deposition["mean_A_m2"] == pytest.approx(200.0, rel=1e-4)  # node-lumped mean
    assert deposition["hotspot_index"] > 1.05  # asperity tips take more current
    MPI.COMM_WORLD.barrier()
    names = [
        "metrics.json",
        "surface_current_lithium.csv",
        "surface_current_lithium.png",
        "concentration_flux.png",
        "current_density.png",
    ]
    for name in names:
        assert (out / name).stat().st_size > 0, name
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["mpi_size"] == MPI.COMM_WORLD.size
    assert on_disk["electrodes"]["lithium"]["potential_V"] < 0
