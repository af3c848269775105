"""A run that says "done" holds a solution: the 2D cases of issue 15 that used to exit 0
with wrong numbers, through ``run_case`` (serial and on 2 ranks)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest
from shared_cases import TINY

from femli.case.checks import parse_case
from femli.cli import classify
from femli.pipeline import run_case
from femli.solve.newton import SolverError
from femli.units import FARADAY

#: 2 F D c / L of the 10 um box with 1 M binary salt, D = 5e-10 m2/s.
I_LIM = 2 * FARADAY * 5e-10 * 1000.0 / 10e-6
SEED000 = Path(__file__).resolve().parents[2] / "examples" / "seed000_bilayer"


def box(**electrode) -> dict:
    data = copy.deepcopy(TINY)
    kinetics = {"exchange_current": 30.0, "concentration_dependent": True}
    data["electrodes"] = [{"name": "li", "kinetics": {"electrode": kinetics}, **electrode}]
    return data


@pytest.mark.mpi
def test_box_at_minus_two_volts_sits_on_the_limiting_current(mpi_tmp_path):
    """Was ~93x the limiting current with min c = -8 912 mol/m3 (exit 0)."""
    metrics = run_case(parse_case(box(potential=-2.0)), mpi_tmp_path / "box")
    (li,) = metrics["electrodes"].values()
    assert -li["mean_current_density_A_m2"] == pytest.approx(I_LIM, rel=1e-6)
    assert 0.0 <= metrics["min_concentration_mol_m3"] < 1e-6 * 1000.0


@pytest.mark.mpi
def test_box_at_ten_times_the_limiting_current_exits_3_naming_it(mpi_tmp_path):
    """Was a 'steady state' at 96 485 A/m2 whose bulk inflow was a tenth of the
    consumption (exit 0); now exit 3 with the limiting current in the message."""
    config = parse_case(box(current_density=-96485.0))
    with pytest.raises(SolverError) as info:
        run_case(config, mpi_tmp_path / "box")
    code, message = classify(info.value)
    assert code == 3
    assert "the applied current 96 485 A/m2 on electrode 'li' exceeds the limiting" in message
    about = float(message.split("(about ")[1].split(" A/m2")[0].replace(" ", ""))
    assert about == pytest.approx(I_LIM, rel=1e-3)
    assert not (mpi_tmp_path / "box" / "metrics.json").exists()


@pytest.mark.mpi
def test_seed000_bare_li_at_plus_two_volts_obeys_ohms_law(mpi_tmp_path):
    """Was 120 745 A/m2 while phi spanned 1.49 V at kappa = 7.68e-3 S/m: a current no
    ohmic drop of at most 2 V over the 9.5 um between the asperity tops and the bulk
    boundary can carry (kappa * 2 V / 9.5 um = 1 617 A/m2)."""
    data = tomllib.loads((SEED000 / "bare_li_reduced.toml").read_text())
    (electrode,) = data["electrodes"]
    del electrode["current_density"]
    electrode["potential"] = 2.0
    data["output"] = {"renders": False, "fields": False}
    metrics = run_case(parse_case(data), mpi_tmp_path / "seed000")
    (li,) = metrics["electrodes"].values()
    assert 0.0 < li["mean_current_density_A_m2"] < 7.68e-3 * 2.0 / 9.5e-6
