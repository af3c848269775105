"""Every recovery path, driven into on purpose: preconditioner rebuild and direct fallback
after failed linear solves, error-oriented damping after a stalled line search,
continuation in the driving force, and time-step cuts; each ends in a checked state."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import build_domain, from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve import presets
from femli.solve.newton import Newton
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.solve.transient import TransientOptions, TransientSolver

L, C0, D = 50e-6, 1000.0, 2.6e-10


def cell_1d(*electrodes_at: tuple[str, dict], i0: float = 10.0, cells: int = 100) -> CellModel:
    """A 1D binary cell; electrodes (boundary, Electrode kwargs); a bulk at the right end
    unless an electrode takes it."""
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, cells, [0.0, L])
    domain = from_mesh(
        mesh, {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], L)}
    )
    law = ButlerVolmer(i0, 0.5, 0.5, concentration_dependent=True)
    electrodes = [Electrode(f"e_{b}", {b: law}, **kw) for b, kw in electrodes_at]
    used = [b for b, _ in electrodes_at]
    bulk = [] if "right" in used else [Bulk(("right",))]
    return CellModel(domain, binary(C0, D, D), electrodes, bulk)


def box_model() -> tuple[CellModel, Electrode]:
    domain, _ = build_domain("box", MPI.COMM_WORLD, dim=2, h_far=1.0, h_electrode=0.25)
    kinetics = ButlerVolmer(30.0, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": kinetics}, potential=-0.1)
    model = CellModel(domain, binary(1000.0, 5e-10, 5e-10), [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, -0.1)
    return model, electrode


@pytest.mark.mpi
def test_failed_linear_solves_rebuild_the_preconditioner_then_fall_back_to_direct():
    """Krylov limited to one iteration: every iterative linear solve fails. The retry
    with the preconditioner rebuilt at every step used to raise AttributeError
    (``SNES.setLagPreconditioner`` is not in petsc4py 3.25); now it runs, fails again,
    and the direct fallback solves. The result equals a direct solve."""
    model, _ = box_model()
    newton = Newton(model, "iterative", {"ksp_max_it": 1})
    assert newton.solve(), newton.failure
    assert newton.stats.rebuild_retries == 1 and newton.stats.direct_fallbacks == 1
    solved = [u.x.array.copy() for u in model.unknowns]
    model.set_initial_state()
    assert Newton(model, "direct").solve()
    for u, a in zip(model.unknowns, solved, strict=True):
        assert np.abs(u.x.array - a).max() <= 1e-9 * max(np.abs(a).max(), 1.0)


def test_no_direct_fallback_past_its_size_limit(monkeypatch):
    """Above DIRECT_FALLBACK_LIMIT unknowns the failure goes to the caller, saying why."""
    monkeypatch.setattr(presets, "DIRECT_FALLBACK_LIMIT", 0)
    model, _ = box_model()
    before = [u.x.array.copy() for u in model.unknowns]
    newton = Newton(model, "iterative", {"ksp_max_it": 1})
    assert not newton.solve()
    assert newton.stats.direct_fallbacks == 0
    assert "the linear solver failed" in newton.failure
    for u, a in zip(model.unknowns, before, strict=True):  # the state before the solve
        assert np.array_equal(u.x.array, a)


@pytest.mark.mpi
def test_a_stalled_line_search_retries_with_error_oriented_damping():
    """Near-reversible kinetics in a closed cell: backtracking on the residual norm crawls
    (1e-3 of the Newton step per iteration) in the pseudo-transient steps; the solve is
    retried with PETSc's nleqerr and converges to the closed form (c_R/c_L = exp(FV/2RT))."""
    model = cell_1d(("left", {"potential": 0.0}), ("right", {"potential": -0.05}), i0=1e12)
    solver = StationarySolver(model, StationaryOptions(initial_guess="uniform"))
    solver.solve()
    assert solver.newton.stats.line_search_retries >= 1
    ratio = np.exp(-model.f * 0.05 / 2)
    exact = 2 * 96485.33212 * D * 2 * C0 * (1 - ratio) / (1 + ratio) / L
    cathode = model.electrodes[1]
    assert solver.currents.mean_density(cathode) == pytest.approx(-exact, rel=1e-3)


@pytest.mark.mpi
def test_continuation_reaches_a_potential_where_newton_fails():
    """From the secondary guess at -0.5 V, Newton fails; the ramp in the potential reaches
    the same state as Newton from the bulk state."""
    model = cell_1d(("left", {"potential": -0.5}))
    solver = StationarySolver(model)
    solver.solve()
    assert solver.continuation_steps > 0 and solver.newton.stats.failures > 0
    current = solver.currents.mean_density(model.electrodes[0])
    plain = cell_1d(("left", {"potential": -0.5}))
    direct = StationarySolver(plain, StationaryOptions(initial_guess="uniform"))
    direct.solve()
    assert direct.continuation_steps == 0
    assert current == pytest.approx(direct.currents.mean_density(plain.electrodes[0]), rel=1e-8)


@pytest.mark.mpi
def test_a_time_step_that_fails_is_cut_until_it_holds():
    """4 A/cm2 into the 1D cell (4x its limiting current): a 10 s step drives the surface
    concentration negative, which is refused; halving reaches a step that holds."""
    model = cell_1d(("left", {"current_density": -4000.0}))
    options = TransientOptions(
        t_end=10.0, dt_initial=10.0, dt_min=1e-4, scheme="bdf1", tolerance=1e3, max_change=1e3
    )
    march = TransientSolver(model, options)
    march.start()
    used, _, cuts = march._advance(10.0)
    assert cuts >= 2 and used <= 2.5 and march.t == used
    c = model.unknowns[0].x.array
    assert MPI.COMM_WORLD.allreduce(float(c.min()), op=MPI.MIN) >= 0.0


@pytest.mark.mpi
def test_warm_solve_skips_the_initial_guess_and_falls_back_to_it(monkeypatch):
    """A growth step's solve starts from the last shape's state: no secondary guess, the
    same state as a cold solve; if Newton fails from there, the cold solve is made."""
    guesses = []
    original = StationarySolver._secondary_guess

    def counted(self):
        guesses.append(1)
        original(self)

    monkeypatch.setattr(StationarySolver, "_secondary_guess", counted)
    model, _ = box_model()
    solver = StationarySolver(model, StationaryOptions(preset="direct"))
    solver.solve()
    assert guesses == [1]
    model.domain.mesh.geometry.x[:, 1] *= 1.01  # a nearby shape (as a growth step makes)
    solver.currents.refresh()
    solver.solve_warm()
    assert guesses == [1]
    warm = [u.x.array.copy() for u in model.unknowns]
    model.set_initial_state()
    solver.solve()
    assert guesses == [1, 1]
    for u, w in zip(model.unknowns, warm, strict=True):
        scale = np.abs(u.x.array).max()
        assert np.abs(u.x.array - w).max() <= 1e-8 * scale

    calls = []
    solve_at = StationarySolver.solve_at

    def failing_once(self, load):
        calls.append(load)
        return solve_at(self, load) if len(calls) > 1 else False

    monkeypatch.setattr(StationarySolver, "solve_at", failing_once)
    solver.solve_warm()  # Newton "fails" from the warm state: the cold solve
    assert guesses == [1, 1, 1]
