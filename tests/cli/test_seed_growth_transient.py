"""examples/seed003_growth/transient, reduced to 1 s: the transient run starts from the
bulk concentration and joins the quasi-stationary one once the salt has diffused across
the 5 um box (diffusion time 0.05 s); the currents agree throughout."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "seed003_growth" / "transient"


def test_transient_tips_join_the_quasi_stationary_ones(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "seed003_transient_compare", FOLDER / "compare.py"
    )
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    assert compare.main(["-o", str(tmp_path), "--t-end", "1.0"]) == 0
    with open(tmp_path / "tips.csv") as f:
        rows = list(csv.DictReader(f))
    data = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    tip_tr, tip_st = data["c_tip_transient"], data["c_tip_stationary"]
    assert tip_tr[0] == 1000.0 and tip_st[0] < 999.6  # uniform start vs steady state
    assert abs(tip_tr[-1] - tip_st[-1]) < 5e-3  # README: 1e-3 mol/m3 after 1 s
    assert np.all(tip_tr[data["t_s"] < 0.01] > tip_st[data["t_s"] < 0.01])  # still filling
    assert data["current_transient"] == pytest.approx(data["current_stationary"], rel=1e-3)
    assert (tmp_path / "tips.png").stat().st_size > 0
