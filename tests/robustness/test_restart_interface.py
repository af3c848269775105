"""A ``[time]`` run with a double layer and a growing film, interrupted and restarted
from its checkpoint, ends where the uninterrupted run ends: the double layer's delta
history and the film's passed charge are in the checkpoint (serial and on 2 ranks)."""

from __future__ import annotations

import copy

import pytest
from folder_checks import check_completed
from mpi4py import MPI
from shared_cases import TINY
from test_restart import interrupted, same_rows, same_transient

from femli.case.checks import parse_case
from femli.pipeline import run_case

CASE = copy.deepcopy(TINY) | {"time": {"t_end": 0.005}}
CASE["output"] = TINY["output"] | {"checkpoint_interval": 5}
CASE["electrodes"][0]["double_layer_capacitance"] = 0.5  # F/m^2: tau ~ 0.3 ms
CASE["electrodes"][0]["kinetics"]["electrode"]["film"] = {"resistance": 1e-3, "growth": 1e-3}


@pytest.mark.mpi
def test_a_double_layer_and_film_run_restarts_where_it_stopped(mpi_tmp_path):
    config = parse_case(CASE)
    full = run_case(config, mpi_tmp_path / "full", MPI.COMM_WORLD)
    cut = mpi_tmp_path / "cut"
    state = interrupted(config, cut, step=12)
    assert state["kind"] == "transient" and state["step"] == 10
    again = run_case(config, cut, MPI.COMM_WORLD, restart=True)
    MPI.COMM_WORLD.barrier()
    same_transient(full, again)
    for key in ("total_current_A", "potential_V", "mean_surface_overpotential_V"):
        assert again["electrodes"]["li"][key] == pytest.approx(
            full["electrodes"]["li"][key], rel=1e-9
        )
    full_rows = mpi_tmp_path / "full" / "time_series.csv"
    # every number of every step; on 2 ranks the restart's new partition may cost one
    # Newton step more somewhere (round-off), so the iteration counts are not compared
    same_rows(full_rows, cut / "time_series.csv", 1e-9, skip=("newton_iterations",))
    check_completed(cut, config.digest())
