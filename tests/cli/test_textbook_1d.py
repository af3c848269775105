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
    assert cathode["mean_current_density"] == pytest.approx(-i, rel=1e-7)
    assert metrics["min_concentration"] == pytest.approx(c_right, rel=1e-8)  # c is linear


def test_limiting_current_plateau_from_the_cli(tmp_path):
    """-2 V against a reservoir: i = -2 F D c0 / L, c >= 0."""
    case = tomllib.loads((EXAMPLES / "limiting_current.toml").read_text())
    metrics = femli_run(EXAMPLES / "limiting_current.toml", tmp_path / "out")
    species = case["electrolyte"]["species"][0]
    length = case["geometry"]["length_um"] * 1e-6
    i_lim = 2 * FARADAY * species["diffusivity"] * species["concentration"] / length
    lithium = metrics["electrodes"]["lithium"]
    assert lithium["mean_current_density"] == pytest.approx(-i_lim, rel=1e-6)
    assert 0.0 <= metrics["min_concentration"] < 1e-3 * species["concentration"]


def test_side_reaction_and_film_from_the_cli(tmp_path):
    """Deposition + SEI side reaction (two Tafel laws) under a film, concentrated model:
    metrics.json's reaction currents and current efficiency split the applied current as
    the closed form says; its mean overpotential is the charge-transfer part delta."""
    case = tomllib.loads((EXAMPLES / "side_reaction_film.toml").read_text())
    metrics = femli_run(EXAMPLES / "side_reaction_film.toml", tmp_path / "out")
    electrode = case["electrodes"][0]
    main = electrode["kinetics"]["electrode"]
    side = main["side_reactions"][0]
    i = electrode["current_density"]
    f = FARADAY / (GAS_CONSTANT * case["electrolyte"]["temperature"])

    def tafel(k: dict, delta: float) -> float:
        e_eq = k.get("equilibrium_potential", 0.0)
        return -k["exchange_current"] * np.exp(-k["alpha"] * f * (delta - e_eq))

    delta = brentq(lambda d: tafel(main, d) + tafel(side, d) - i, -2.0, 2.0, xtol=1e-15)
    lithium = metrics["electrodes"]["lithium"]
    assert lithium["total_current"] == pytest.approx(i, rel=1e-8)
    assert lithium["reaction_currents"]["li"] == pytest.approx(tafel(main, delta), rel=1e-8)
    assert lithium["reaction_currents"]["sei"] == pytest.approx(tafel(side, delta), rel=1e-8)
    assert lithium["deposition_current"] == pytest.approx(tafel(main, delta), rel=1e-8)
    assert lithium["current_efficiency"] == pytest.approx(tafel(main, delta) / i, rel=1e-8)
    assert 0.5 < lithium["current_efficiency"] < 0.99  # both reactions matter here
    assert lithium["mean_surface_overpotential_V"] == pytest.approx(delta, rel=1e-8)


def test_double_layer_step_from_the_cli(tmp_path):
    """A galvanostatic step with a double layer: after t, the reaction carries
    i (1 - exp(-t/tau)); metrics.json's total current is the applied one (charging
    included) and its current efficiency 1 - exp(-t/tau) (the issue's 0.5 %)."""
    case = tomllib.loads((EXAMPLES / "double_layer_step.toml").read_text())
    metrics = femli_run(EXAMPLES / "double_layer_step.toml", tmp_path / "out")
    electrode = case["electrodes"][0]
    i0 = electrode["kinetics"]["electrode"]["exchange_current"]
    r_ct = GAS_CONSTANT * case["electrolyte"]["temperature"] / (FARADAY * i0)  # aa + ac = 1
    tau = r_ct * electrode["double_layer_capacitance"]
    efficiency = 1.0 - np.exp(-case["time"]["t_end"] / tau)
    lithium = metrics["electrodes"]["lithium"]
    assert lithium["total_current"] == pytest.approx(electrode["current_density"], rel=1e-8)
    assert lithium["current_efficiency"] == pytest.approx(efficiency, rel=5e-3)
    assert lithium["deposition_current"] == pytest.approx(
        efficiency * electrode["current_density"], rel=5e-3
    )
