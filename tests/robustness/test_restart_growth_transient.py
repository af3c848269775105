"""``--restart`` of a growth run with transient electrochemistry: the BDF history, the
step-size control and the last mesh step come back from the checkpoint, so the resumed
run ends where the uninterrupted one ends (before and after a remesh)."""

from __future__ import annotations

import json

import pytest
from folder_checks import check_completed
from mpi4py import MPI
from test_restart import growth, interrupted, same_metrics, same_rows

from femli.case.checks import parse_case
from femli.pipeline import run_case


def transient_growth(interval: int) -> dict:
    """The robustness growth case to 4.5 s with transient electrochemistry: 29 steps,
    one remesh after step 27."""
    data = growth(interval)
    data["growth"] |= {"electrochemistry": "transient", "dt_initial": 0.01, "t_end": 4.5}
    return data


@pytest.mark.parametrize(
    ("interval", "stop", "resumed"),
    [
        pytest.param(5, 27, 25, id="before_the_remesh"),
        pytest.param(2, 28, 28, id="on_the_remeshed_mesh", marks=pytest.mark.mpi),
    ],
)
def test_transient_growth_restart_gives_the_uninterrupted_result(
    mpi_tmp_path, interval, stop, resumed
):
    config = parse_case(transient_growth(interval))
    full = run_case(config, mpi_tmp_path / "full", MPI.COMM_WORLD)
    assert (full["growth"]["steps"], full["growth"]["remeshes"]) == (29, 1)
    cut = mpi_tmp_path / "cut"
    state = interrupted(config, cut, stop)
    assert state["step"] == resumed and state["remeshes"] == (resumed > 27)
    assert len(state["transient"]["past_times"]) >= 2  # a BDF2 history to carry
    again = run_case(config, cut, MPI.COMM_WORLD, restart=True)
    MPI.COMM_WORLD.barrier()
    same_metrics(full, again, rel=1e-8)
    for key in (
        "t_s",
        "steps",
        "remeshes",
        "deposited_volume_m3",
        "charge_C",
        "c_min_mol_m3",
        "c_tip_mol_m3",
    ):
        assert again["growth"][key] == pytest.approx(full["growth"][key], rel=1e-8), key
    same_rows(mpi_tmp_path / "full" / "growth_series.csv", cut / "growth_series.csv", 1e-8)
    check_completed(cut, config.digest())
    assert json.loads((cut / "provenance.json").read_text())["restarted_from_t"] == state["t"]
