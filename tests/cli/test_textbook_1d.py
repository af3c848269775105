"""1D cells from case files (geometry kind "interval"): the textbook checks of
tests/verification/test_binary_cell.py and test_extremes.py, run with ``femli run`` on the
example case files and compared with their closed forms."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from femli.physics.kinetics import ButlerVolmer
from femli.units import FARADAY, GAS_CONSTANT

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "textbook_1d"


def femli_run(case: Path, out: Path) -> dict:
    """``femli run case -o out`` (serial); its metrics.json."""
    done = subprocess.run(
        [sys.executable, "-m", "femli", "-q", "run", str(case), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text())


def test_closed_binary_cell_from_the_cli(tmp_path):
    """Linear c between c0 +- i L/(4 F D+), a voltage of both Butler-Volmer overpotentials
    plus (RT/F) ln(c_R/c_L); as precise as the API test (O(h^2) in the voltage)."""
    case = tomllib.loads((EXAMPLES / "binary_cell.toml").read_text())
    metrics = femli_run(EXAMPLES / "binary_cell.toml", tmp_path / "out")
    length = case["geometry"]["length_um"] * 1e-6
    cation = case["electrolyte"]["species"][0]
    c0, d_plus = cation["concentration"], cation["diffusivity"]
    i = -case["electrodes"][1]["current_density"]
    k = case["electrodes"][1]["kinetics"]["cathode"]
    law = ButlerVolmer(k["exchange_current"], k["alpha_a"], k["alpha_c"], True)
    f = FARADAY / (GAS_CONSTANT * 298.15)
    c_left = c0 + i * length / (4 * FARADAY * d_plus)
    c_right = c0 - i * length / (4 * FARADAY * d_plus)

    def eta(target, c):
        return brentq(lambda e: law.current(e, f, c / c0) - target, -3.0, 3.0, xtol=1e-14)

    voltage = eta(-i, c_right) - eta(i, c_left) + np.log(c_right / c_left) / f
    cathode = metrics["electrodes"]["cathode"]
    assert cathode["potential_V"] == pytest.approx(voltage, rel=5e-5)
    assert cathode["mean_current_density_A_m2"] == pytest.approx(-i, rel=1e-7)
    assert metrics["min_concentration_mol_m3"] == pytest.approx(c_right, rel=1e-8)  # c is linear


def test_limiting_current_plateau_from_the_cli(tmp_path):
    """-2 V against a reservoir: i = -2 F D c0 / L, c >= 0."""
    case = tomllib.loads((EXAMPLES / "limiting_current.toml").read_text())
    metrics = femli_run(EXAMPLES / "limiting_current.toml", tmp_path / "out")
    species = case["electrolyte"]["species"][0]
    length = case["geometry"]["length_um"] * 1e-6
    i_lim = 2 * FARADAY * species["diffusivity"] * species["concentration"] / length
    lithium = metrics["electrodes"]["lithium"]
    assert lithium["mean_current_density_A_m2"] == pytest.approx(-i_lim, rel=1e-6)
    assert 0.0 <= metrics["min_concentration_mol_m3"] < 1e-3 * species["concentration"]
