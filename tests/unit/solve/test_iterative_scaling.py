"""The iterative preset: Krylov iterations per Newton step flat under refinement, MUMPS-exact
results, scalar problems, solver objects reused between solves, stage statistics."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve import presets
from femli.solve.newton import Newton
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.solve.stats import measure_stage, peak_memory, reset_peak_memory

#: 2D seed 003 cross-section: two 0.55 um nuclei on a 5 um anode.
GEOMETRY = {"dim": 2, "width": 5.0, "height": 5.0, "diameter": 0.55, "count": 2, "seed": 3}


def nuclei_model(refinement: float, model: str = "tertiary") -> tuple[CellModel, Electrode]:
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, refinement=refinement, **GEOMETRY)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, potential=-0.2)
    extra = {"conductivity": 0.768} if model == "secondary" else {}
    electrolyte = binary(1000.0, 2.5e-10, 2.82e-10, model=model, **extra)
    return CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))]), electrode


def solve(refinement: float, preset: str, model: str = "tertiary"):
    cell, electrode = nuclei_model(refinement, model)
    solver = StationarySolver(cell, StationaryOptions(preset=preset))
    solver.solve()
    assert solver.newton.preset == preset
    return cell, solver, solver.currents.mean_density(electrode)


def relative(a: np.ndarray, b: np.ndarray) -> float:
    comm = MPI.COMM_WORLD
    num = comm.allreduce(float(np.abs(a - b).max(initial=0.0)), op=MPI.MAX)
    return num / comm.allreduce(float(np.abs(b).max(initial=0.0)), op=MPI.MAX)


def test_krylov_iterations_per_newton_step_stay_flat_and_match_mumps():
    """Three refinements (h / 4 overall): iterations per Newton step grow <= 30 %."""
    per_step = []
    for refinement in (1.5, 3.0, 6.0):
        cell, solver, current = solve(refinement, "iterative")
        stats = solver.newton.stats
        assert stats.failures == 0
        assert stats.jacobian_evaluations >= stats.newton_iterations > 0
        per_step.append(stats.krylov_per_newton)
    assert per_step[-1] <= 1.3 * per_step[0], per_step
    direct_cell, _, direct_current = solve(6.0, "direct")
    assert current == pytest.approx(direct_current, rel=1e-8)
    for u, v in zip(cell.unknowns, direct_cell.unknowns, strict=True):
        assert relative(u.x.array, v.x.array) < 1e-8, u.name


@pytest.mark.mpi
def test_iterative_preset_solves_scalar_problems_like_mumps():
    """Secondary (one field: GMRES + GAMG without field split) agrees with MUMPS."""
    results = [solve(4.0, preset, "secondary") for preset in ("direct", "iterative")]
    (cell_d, _, current_d), (cell_i, solver_i, current_i) = results
    assert solver_i.newton.stats.krylov_iterations > 0
    assert current_i == pytest.approx(current_d, rel=1e-8)
    assert relative(cell_i.phi.x.array, cell_d.phi.x.array) < 1e-8


@pytest.mark.mpi
def test_repeated_solves_reuse_the_compiled_problem():
    """New potentials re-solve with the same matrix, KSP, field split and multigrid."""
    cell, electrode = nuclei_model(2.0)
    newton = Newton(cell, "iterative")
    assert newton.stats.setup_seconds > 0.0

    def handles():
        ksp = newton.problem.solver.getKSP()
        subs = ksp.getPC().getFieldSplitSubKSP()
        return [newton.problem.A.handle, ksp.handle] + [s.getPC().handle for s in subs]

    cell.set_potential(electrode, -0.05)
    assert newton.solve()
    before = handles()
    for value in (-0.1, -0.15):
        cell.set_potential(electrode, value)
        assert newton.solve()
    assert handles() == before
    stats = newton.stats.as_dict()
    assert stats["nonlinear_solves"] == 3
    assert 0.0 < stats["assembly_seconds"] < stats["solve_seconds"]
    assert stats["linear_solver_seconds"] > 0.0
    assert stats["residual_evaluations"] > stats["jacobian_evaluations"] > 0


def test_auto_preset_limits_depend_on_dimension():
    assert presets.resolve("auto", presets.DIRECT_DOF_LIMIT - 1, dim=3) == "direct"
    assert presets.resolve("auto", presets.DIRECT_DOF_LIMIT, dim=3) == "iterative"
    assert presets.resolve("auto", presets.DIRECT_DOF_LIMIT_2D - 1, dim=2) == "direct"
    assert presets.resolve("auto", presets.DIRECT_DOF_LIMIT_2D, dim=2) == "iterative"
    split = presets.petsc_options("iterative", 2)
    assert split["fieldsplit_1_pc_gamg_threshold"] == presets.GAMG["pc_gamg_threshold"]


def test_peak_memory_reports_and_resets():
    reset_peak_memory()
    base = peak_memory(MPI.COMM_WORLD)
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    grown = peak_memory(MPI.COMM_WORLD)
    assert grown["peak_rss_mb"] >= base["peak_rss_mb"] + 50
    assert grown["peak_rss_mb_total"] >= grown["peak_rss_mb_max"] >= grown["peak_rss_mb"]
    del block
    if reset_peak_memory():
        assert peak_memory()["peak_rss_mb"] < grown["peak_rss_mb"]


def test_measure_stage_records_time_and_memory():
    record: dict = {}
    with measure_stage(record, "work", MPI.COMM_WORLD):
        block = np.ones(32 * 2**20 // 8)
    del block
    stage = record["work"]
    assert stage["seconds"] >= 0.0
    assert stage["peak_rss_mb_total"] >= stage["peak_rss_mb_max"] > 30
