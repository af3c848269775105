"""Sand's law in the Li metal (seed 004): the paper's D_eff fit, done in reverse, returns the
D_eff the simulation was given.

examples/seed004_voids/sand_study.toml runs sand_li.toml (Li metal alone, one species = mobile
Li at c0 = rho/M, no migration, stripping sink at the Li | SE interface, bulk Li 1.2 mm away)
at 0.5, 1, 2 and 3 mA/cm2 for the paper's three D_eff; sand_fit.py fits
1/sqrt(t0) = 2 I / (c0 F sqrt(pi D_eff)) through the origin. The problem is pure 1D
diffusion with a constant-flux boundary, for which Sand's formula is exact (semi-infinite:
the far boundary is >= 9.5 diffusion lengths away, correction ~exp(-9.5^2/4) < 1e-9).

Tolerances: the issue's 3 % on the fitted D_eff; each t0 within 1 % of Sand's formula.
Measured: +0.29 % on D_eff and <= 0.3 % on each t0 (local time-stepping error at the
solver's tolerance 1e-4 and the 0.5 um mesh at the interface). A missing factor (2, pi,
c0 F) or a wrong sign of the sink moves D_eff by far more than 3 %.
"""

from __future__ import annotations

import math

import pytest
from shared_cases import EXAMPLES, load_example

from femli.study.runner import run_study

EXAMPLE = EXAMPLES / "seed004_voids"


def test_sand_fit_recovers_d_eff(mpi_tmp_path):
    sand = load_example("seed004_voids", "sand_fit")
    result = run_study(EXAMPLE / "sand_study.toml", mpi_tmp_path / "sand")
    assert [o.action for o in result.outcomes] == ["ran"] * 12
    fitted = sand.sand_fit(mpi_tmp_path / "sand")
    c0 = fitted["c0_mol_m3"]
    assert c0 == pytest.approx(534.0 / 6.94e-3, rel=1e-4)  # Li atom density rho/M
    assert set(fitted["anodes"]) == {"Li", "LNT5F5", "LNT10F"}
    for label, r in fitted["anodes"].items():
        d = sand.PAPER_D[label]
        assert r["points"] == 4
        assert r["D_fit_origin_m2_s"] == pytest.approx(d, rel=0.03), label
        assert r["D_fit_line_m2_s"] == pytest.approx(d, rel=0.03), label
        for i_ma, t0 in zip(r["currents_mA_cm2"], r["t0_s"], strict=True):
            assert t0 == pytest.approx(sand.sand_time(d, 10 * i_ma, c0), rel=0.01)
    # critical stripping capacity at 0.5 mA/cm2 for Li metal: Sand with c0 = rho/M gives
    # 7.2 mAh/cm2, 9 % above the 6.60 measured (README: the measured value implies
    # c0 = 0.96 rho/M with the paper's own D_eff)
    q_li = fitted["anodes"]["Li"]["capacity_0p5_sim_mAh_cm2"]
    assert q_li == pytest.approx(7.21, abs=0.05)
    implied = (
        2
        * 5.0
        * math.sqrt(6.60 / 0.5 * 3600)
        / (sand.FARADAY * math.sqrt(math.pi * sand.PAPER_D["Li"]))
    )
    assert implied / c0 == pytest.approx(0.958, abs=0.005)
