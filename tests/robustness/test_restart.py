"""Checkpoints and ``--restart``: an interrupted run continued from its last checkpoint
ends where the uninterrupted run ends (same steps, same numbers to round-off), after a
remesh and on another number of ranks too."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from folder_checks import check_completed, check_csv, series_times
from mpi4py import MPI
from shared_cases import GROWTH, TINY

from femli.case.checks import parse_case
from femli.messages import ConfigError
from femli.pipeline import run_case

#: The tiny box marching 0.5 s (27 steps), checkpoints every 5 steps.
TRANSIENT = copy.deepcopy(TINY) | {"time": {"t_end": 0.5}}
TRANSIENT["output"] = TINY["output"] | {"checkpoint_interval": 5}


def growth(interval: int, fields: bool = False) -> dict:
    data = tomllib.loads(GROWTH)
    data["output"] = {"renders": False, "fields": fields, "checkpoint_interval": interval}
    return data


def stop_after(step: int):
    """A step callback interrupting the run (like Ctrl-C) once ``step`` is recorded."""

    def callback(solver, record) -> None:
        if len(solver.records) - 1 >= step:
            raise KeyboardInterrupt

    return callback


def interrupted(config, out: Path, step: int) -> dict:
    """Run until ``step``, interrupted; returns the checkpoint's state.json."""
    with pytest.raises(KeyboardInterrupt):
        run_case(config, out, MPI.COMM_WORLD, callback=stop_after(step))
    MPI.COMM_WORLD.barrier()
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "interrupted"
    assert json.loads((out / "provenance.json").read_text())["exit_status"] == "interrupted"
    return json.loads((out / "checkpoint" / "state.json").read_text())


def same_rows(
    a: Path, b: Path, rel: float | Callable[[dict], float], skip: tuple[str, ...] = ()
) -> None:
    """Two CSV tables with the same rows, numbers equal to ``rel`` (or ``rel(row of a)``;
    columns ``skip`` not compared)."""
    rows_a, rows_b = check_csv(a), check_csv(b)
    assert len(rows_a) == len(rows_b)
    for ra, rb in zip(rows_a, rows_b, strict=True):
        tolerance = rel(ra) if callable(rel) else rel
        for key in set(ra) - set(skip):
            assert float(rb[key]) == pytest.approx(float(ra[key]), rel=tolerance, abs=1e-300), key


def same_metrics(a: dict, b: dict, rel: float, newton_slack: int = 0) -> None:
    """Same electrode results to ``rel``; Newton steps equal (to ``newton_slack``)."""
    ea, eb = a["electrodes"]["li"], b["electrodes"]["li"]
    for key in ("total_current_A", "potential_V", "mean_surface_overpotential_V"):
        assert eb[key] == pytest.approx(ea[key], rel=rel), key
    assert b["min_concentration_mol_m3"] == pytest.approx(a["min_concentration_mol_m3"], rel=rel)
    steps = b["solver"]["newton_iterations"], a["solver"]["newton_iterations"]
    assert abs(steps[0] - steps[1]) <= newton_slack, steps


def same_transient(a: dict, b: dict) -> None:
    ta, tb = a["transient"], b["transient"]
    assert (tb["steps"], tb["stop_reason"]) == (ta["steps"], ta["stop_reason"])
    assert tb["t_final_s"] == pytest.approx(ta["t_final_s"], rel=1e-12)


@pytest.mark.mpi
def test_transient_restart_gives_the_uninterrupted_result(mpi_tmp_path):
    data = copy.deepcopy(TRANSIENT)
    data["output"]["fields"] = True  # the field series restarts too
    config = parse_case(data)
    full = run_case(config, mpi_tmp_path / "full", MPI.COMM_WORLD)
    cut = mpi_tmp_path / "cut"
    state = interrupted(config, cut, step=12)
    assert state["kind"] == "transient" and state["step"] == 10
    again = run_case(config, cut, MPI.COMM_WORLD, restart=True)
    MPI.COMM_WORLD.barrier()
    same_transient(full, again)
    same_metrics(full, again, rel=1e-10)
    same_rows(mpi_tmp_path / "full" / "time_series.csv", cut / "time_series.csv", 1e-10)
    check_completed(cut, config.digest())
    assert json.loads((cut / "provenance.json").read_text())["restarted_from_t"] == state["t"]
    times = series_times(mpi_tmp_path / "full")  # frames after the checkpoint written again
    assert series_times(cut) == pytest.approx(times, rel=1e-10)
    assert times[0] == 0.0 and times[-1] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("interval", "stop", "resumed"),
    [
        pytest.param(5, 6, 5, id="before_the_remesh"),
        pytest.param(2, 7, 6, id="on_the_remeshed_mesh", marks=pytest.mark.mpi),
    ],
)
def test_growth_restart_gives_the_uninterrupted_result(mpi_tmp_path, interval, stop, resumed):
    """The remesh follows step 5: resume from its low-quality mesh (the restart remeshes
    first) or from the checkpoint written on the new mesh.

    (Only the second runs under mpiexec too: on several ranks the restart's remesh sees
    the boundary gathered in another order, as the checkpoint mesh is partitioned anew,
    and meshes it slightly differently: ~1e-7 in the currents, ~2e-5 in the step sizes;
    femli.growth.remesh gathers the boundary unsorted. On the new partition the sums run
    in another order too, and a warm-started solve whose last Newton step is at round-off
    level may take it or not: Newton steps in all may differ by one (measured 33 against
    34 on 2 ranks) while every result agrees to 1e-8.)
    """
    config = parse_case(growth(interval, fields=True))
    full = run_case(config, mpi_tmp_path / "full", MPI.COMM_WORLD)
    cut = mpi_tmp_path / "cut"
    state = interrupted(config, cut, stop)
    assert state["step"] == resumed and state["remeshes"] == (resumed > 5)
    again = run_case(config, cut, MPI.COMM_WORLD, restart=True)
    MPI.COMM_WORLD.barrier()
    same_metrics(full, again, rel=1e-8, newton_slack=0 if MPI.COMM_WORLD.size == 1 else 2)
    for key in ("t_s", "steps", "remeshes", "deposited_volume_m3", "charge_C", "max_height_m"):
        assert again["growth"][key] == pytest.approx(full["growth"][key], rel=1e-8), key
    same_rows(mpi_tmp_path / "full" / "growth_series.csv", cut / "growth_series.csv", 1e-8)
    check_completed(cut, config.digest())
    times = series_times(mpi_tmp_path / "full")  # the same frames, numbered without gaps
    assert series_times(cut) == pytest.approx(times, rel=1e-8)
    frames = sorted(p.name for p in (cut / "series").glob("electrode_li_*.vtp"))
    assert frames == [f"electrode_li_{k:04d}.vtp" for k in range(len(times))]


@pytest.mark.mpi
def test_checkpoints_by_simulated_time_and_restart_guards(mpi_tmp_path):
    data = copy.deepcopy(TRANSIENT)
    data["output"] = TINY["output"] | {"checkpoint_period": 0.1}
    config = parse_case(data)
    out = mpi_tmp_path / "period"
    state = interrupted(config, out, step=26)
    assert 0.3 <= state["t"] < 0.5 and state["config_sha256"] == config.digest()
    other = copy.deepcopy(data)
    other["electrodes"][0]["current_density"] = -60.0
    with pytest.raises(ConfigError, match="belongs to another case"):
        run_case(parse_case(other), out, MPI.COMM_WORLD, restart=True)
    first = run_case(config, out, MPI.COMM_WORLD, restart=True)
    stamp = (out / "metrics.json").stat().st_mtime_ns
    kept = run_case(config, out, MPI.COMM_WORLD, restart=True)  # finished: nothing to do
    assert (out / "metrics.json").stat().st_mtime_ns == stamp
    same_transient(first, kept)
    fresh = run_case(config, mpi_tmp_path / "empty", MPI.COMM_WORLD, restart=True)
    same_transient(first, fresh)  # no checkpoint: from the start
    same_metrics(first, fresh, rel=1e-10)


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: the same on every rank count")
def test_restart_across_the_renaming_of_a_growth_key(tmp_path):
    """A checkpoint written by a case with the old key name ``max_displacement`` holds
    the digest femli wrote before the key became ``max_displacement_um``, and the case
    with the new name continues it; config.toml gives the new name."""
    data = growth(2)
    old = copy.deepcopy(data)
    old["growth"]["max_displacement"] = old["growth"].pop("max_displacement_um")
    cut = tmp_path / "cut"
    state = interrupted(parse_case(old), cut, 3)
    legacy = {k: v for k, v in parse_case(data).effective().items() if k != "output"}
    legacy["growth"]["max_displacement"] = legacy["growth"].pop("max_displacement_um")
    text = json.dumps(legacy, sort_keys=True).encode()
    assert state["digest"] == hashlib.sha256(text).hexdigest()
    again = run_case(parse_case(data), cut, MPI.COMM_WORLD, restart=True)
    assert json.loads((cut / "provenance.json").read_text())["restarted_from_t"] == state["t"]
    assert again["growth"]["t_s"] == pytest.approx(6.0)
    written = tomllib.loads((cut / "config.toml").read_text())["growth"]
    assert written["max_displacement_um"] == 0.05 and "max_displacement" not in written


SCRIPT = """
import dolfinx_solver, json, sys, tomllib
from mpi4py import MPI
from femli.case.checks import parse_case
from femli.pipeline import run_case
config = parse_case(json.loads(sys.argv[1]))
def stop(solver, record):
    if len(solver.records) - 1 >= int(sys.argv[3]):
        raise KeyboardInterrupt
try:
    run_case(config, sys.argv[2], MPI.COMM_WORLD, callback=stop)
except KeyboardInterrupt:
    pass
"""


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="starts its own mpiexec")
def test_restart_on_another_number_of_ranks(tmp_path):
    """Interrupted on 2 ranks, finished (and remeshed) on 1. The steps before the remesh
    agree to round-off. After it they agree to the remesh's sensitivity, not to round-off:
    the boundary Gmsh remeshes was moved by solves on 2 ranks against 1 (sums in another
    order), and Gmsh's mesh is not a continuous function of its input (CI once saw the
    hotspot index 2.8e-8 apart after the remesh; here it is usually bitwise the same). A
    remesh on 2 ranks gives a slightly different mesh than on 1, ~1e-7 in the currents:
    the boundary is gathered in another order; a restart reproduces the run on the ranks
    that remeshed. Newton steps may differ by one in a few solves: a growth step's solve
    starts from the state before, its last step is at round-off level, and whether the
    convergence test takes it depends on sums in another order (measured: 38 against 36
    Newton steps in all, every table row the same to 10 digits)."""
    data = growth(2)
    config = parse_case(data)
    full = run_case(config, tmp_path / "full", MPI.COMM_WORLD)
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "MPI"))}
    command = [str(mpiexec), "-n", "2", sys.executable, "-c", textwrap.dedent(SCRIPT)]
    command += [json.dumps(data), str(tmp_path / "cut"), "5"]
    subprocess.run(command, check=True, timeout=300, env=env, capture_output=True)
    state = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text())
    assert state["mpi_size"] == 2 and state["step"] == 4
    again = run_case(config, tmp_path / "cut", MPI.COMM_WORLD, restart=True)
    same_metrics(full, again, rel=1e-6, newton_slack=3)
    full_rows, cut_rows = (tmp_path / run / "growth_series.csv" for run in ("full", "cut"))
    same_rows(full_rows, cut_rows, lambda row: 1e-8 if row["remeshes"] == "0" else 1e-6)
    assert check_csv(full_rows)[-1]["remeshes"] != "0"  # the run remeshed after the restart
