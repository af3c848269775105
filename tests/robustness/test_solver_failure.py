"""Solver failure: recovery first (continuation, step cuts), then a clear message saying
what was tried, the last converged state and ``status.json`` in the results folder."""

from __future__ import annotations

import copy
import json
import sys
import tomllib
from pathlib import Path

import pytest
from folder_checks import check_csv, check_folder
from mpi4py import MPI
from shared_cases import GROWTH, TINY

from femli.case.checks import load_case, parse_case
from femli.cli import classify
from femli.growth.motion import MeshMotionError, MeshMover
from femli.growth.solver import GrowthSolver
from femli.pipeline import run_case
from femli.solve.newton import SolverError

SEED000 = Path(__file__).resolve().parents[2] / "examples" / "seed000_bilayer"

#: The tiny box at twice its limiting current (2 F D c / L ~ 9.6e3 A/m2).
BOX = copy.deepcopy(TINY) | {"solver": {"max_continuation_steps": 12}}
BOX["electrodes"][0]["current_density"] = -2.0e4


def failed_run(config, out: Path) -> tuple[str, dict]:
    """Run a case that must fail; returns the message and its status.json."""
    with pytest.raises(SolverError) as info:
        run_case(config, out, MPI.COMM_WORLD)
    assert classify(info.value)[0] == 3  # `femli run` exits with 3
    MPI.COMM_WORLD.barrier()
    status = json.loads((out / "status.json").read_text())
    provenance = json.loads((out / "provenance.json").read_text())
    assert status["status"] == provenance["exit_status"] == "failed"
    assert status["error"] == provenance["error"] == f"SolverError: {info.value}"
    assert (out / "fields" / "solution.vtu").is_file()  # the last converged state
    assert not (out / "metrics.json").exists()
    check_folder(out)
    return str(info.value), status


@pytest.mark.mpi
def test_stationary_beyond_the_limiting_current(mpi_tmp_path):
    message, status = failed_run(parse_case(BOX), mpi_tmp_path / "stationary")
    assert "continuation in the applied current" in message
    assert "in 12 steps" in message and "the state there is kept" in message
    assert 0.0 <= status["load_reached"] < 1.0
    assert status["run"] == "stationary" and status["last_state"] == "fields/"


@pytest.mark.mpi
def test_transient_beyond_the_limiting_current(mpi_tmp_path):
    steps = {"t_end": 0.2, "dt_initial": 2e-3, "dt_min": 2e-3, "scheme": "bdf1", "tolerance": 1}
    message, status = failed_run(parse_case(BOX | {"time": steps}), mpi_tmp_path / "transient")
    assert "every halving down to dt_min" in message
    assert "the reacting species is depleted at the electrode" in message
    assert 0.03 < status["t_reached"] < 0.05  # Sand time ~0.04 s
    rows = check_csv(mpi_tmp_path / "transient" / "time_series.csv")
    assert len(rows) == status["steps_done"] + 1
    assert float(rows[-1]["t_s"]) == pytest.approx(status["t_reached"])


def growth_case(**output) -> dict:
    data = tomllib.loads(GROWTH)
    data["output"] = {"renders": False, "fields": False, **output}
    data["solver"] = {"max_continuation_steps": 8}
    return data


def flaky(after: float, failures: int):
    """A GrowthSolver.solve_state failing (``failures`` times) within steps past ``after`` s."""
    original = GrowthSolver.solve_state
    count = [0]

    def solve_state(self, warm: bool = False):
        stepping = sys._getframe(1).f_code.co_name == "_advance"
        if stepping and self.t > after and count[0] < failures:
            count[0] += 1
            raise SolverError("Newton diverged (test)")
        original(self, warm)

    return solve_state


@pytest.mark.mpi
def test_growth_cuts_the_step_after_a_failed_solve(mpi_tmp_path, monkeypatch):
    monkeypatch.setattr(GrowthSolver, "solve_state", flaky(1.0, failures=3))
    metrics = run_case(parse_case(growth_case()), mpi_tmp_path / "flaky", MPI.COMM_WORLD)
    growth = metrics["growth"]
    assert growth["t_s"] == pytest.approx(6.0)
    assert growth["steps"] > 7  # the cut steps (7 without failures)
    # shape and charge were put back before each retry: Faraday's law still holds
    volume = -growth["charge_C"] * 6.94e-3 / (96485.33212 * 534.0)
    assert growth["deposited_volume_m3"] == pytest.approx(volume, rel=5e-3)


@pytest.mark.mpi
def test_growth_gives_up_after_max_cuts_keeping_the_last_state(mpi_tmp_path, monkeypatch):
    monkeypatch.setattr(GrowthSolver, "solve_state", flaky(3.0, failures=10**6))
    out = mpi_tmp_path / "stuck"
    message, status = failed_run(parse_case(growth_case()), out)
    assert "3 halvings" in message and "Newton diverged (test)" in message
    assert 3.0 <= status["t_reached"] < 3.7
    rows = check_csv(out / "growth_series.csv")
    assert float(rows[-1]["t_s"]) == pytest.approx(status["t_reached"])


@pytest.mark.mpi
def test_seed000_bilayer_at_moderate_and_extreme_current(mpi_tmp_path):
    """5 and 20 mA/cm2 per footprint (the seed's extreme) converge (or would fail cleanly,
    with the last state saved)."""
    base = load_case(SEED000 / "bilayer_reduced.toml").effective()
    base["output"] = {"renders": False, "fields": False}
    base["solver"] = {"max_continuation_steps": 12}
    for ma_cm2 in (5.0, 20.0):
        data = copy.deepcopy(base)
        data["electrodes"][0].update(current_density=-10.0 * ma_cm2, current_basis="footprint")
        out = mpi_tmp_path / f"bilayer_{ma_cm2:g}"
        try:
            metrics = run_case(parse_case(data), out, MPI.COMM_WORLD, SEED000)
        except SolverError:
            assert ma_cm2 > 5.0, "the moderate current must converge"
            status = json.loads((out / "status.json").read_text())
            assert status["status"] == "failed" and (out / "fields").is_dir()
            continue
        electrode = metrics["electrodes"]["lithium"]
        assert -electrode["total_current_A"] / 10e-6 == pytest.approx(10.0 * ma_cm2, rel=1e-6)
        assert metrics["min_concentration_mol_m3"] > 0


@pytest.mark.mpi
def test_growth_whose_mesh_cannot_follow_fails_cleanly(mpi_tmp_path, monkeypatch):
    """Inversion after every step cut: exit 3 with the last state, never a wrong answer."""
    original, moves = MeshMover.move, []

    def move(self, *args, **kwargs):
        moves.append(1)
        if len(moves) > 3:  # after three steps
            raise MeshMotionError("mesh update would invert a cell (test)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MeshMover, "move", move)
    out = mpi_tmp_path / "inverted"
    with pytest.raises(MeshMotionError, match="cannot follow") as info:
        run_case(parse_case(growth_case()), out, MPI.COMM_WORLD)
    assert classify(info.value)[0] == 3
    MPI.COMM_WORLD.barrier()
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and 0 < status["t_reached"] < 6.0
    assert (out / "fields" / "solution.vtu").is_file()


@pytest.mark.mpi
def test_growth_cuts_the_step_when_the_mesh_would_invert(mpi_tmp_path, monkeypatch):
    """One inverting update (the third): the step is halved and the run goes on."""
    original, moves = MeshMover.move, []

    def move(self, *args, **kwargs):
        moves.append(1)
        if len(moves) == 3:
            raise MeshMotionError("mesh update would invert a cell (test)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MeshMover, "move", move)
    growth = run_case(parse_case(growth_case()), mpi_tmp_path / "cut", MPI.COMM_WORLD)["growth"]
    assert growth["t_s"] == pytest.approx(6.0)
    assert growth["steps"] > 7  # 7 without the inversion
    volume = -growth["charge_C"] * 6.94e-3 / (96485.33212 * 534.0)
    assert growth["deposited_volume_m3"] == pytest.approx(volume, rel=5e-3)
