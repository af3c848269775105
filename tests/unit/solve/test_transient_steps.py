"""Transient solver pieces: options, BDF formulas, error estimate, failure handling."""

from __future__ import annotations

import math

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.newton import SolverError
from femli.solve.transient import (
    TransientOptions,
    TransientSolver,
    bdf_coefficients,
    error_weight,
    extrapolate,
)
from femli.units import FARADAY


def test_options_defaults_follow_t_end_and_given_steps():
    opts = TransientOptions(t_end=100.0)
    assert (opts.dt_initial, opts.dt_min, opts.dt_max) == pytest.approx((1e-3, 1e-6, 10.0))
    assert TransientOptions(t_end=1.0, dt_min=0.01).dt_initial == 0.01
    assert TransientOptions(t_end=1.0, dt_initial=0.5).dt_max == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"t_end": 0.0}, "t_end must be > 0"),
        ({"t_end": 1.0, "dt_min": 0.1, "dt_initial": 0.01}, "dt_min <= dt_initial"),
        ({"t_end": 1.0, "scheme": "bdf3"}, "scheme must be"),
        ({"t_end": 1.0, "tolerance": 0.0}, "tolerance must be > 0"),
        ({"t_end": 1.0, "max_growth": 2.5}, "zero stability"),
        ({"t_end": 1.0, "max_growth": 1.0}, "max_growth"),
        ({"t_end": 1.0, "safety": 1.5}, "safety"),
        ({"t_end": 1.0, "stop_when_depleted": 1.0}, "stop_when_depleted"),
    ],
)
def test_options_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransientOptions(**kwargs)


def test_bdf1_growth_may_exceed_the_bdf2_limit():
    assert TransientOptions(t_end=1.0, scheme="bdf1", max_growth=4.0).max_growth == 4.0


@pytest.mark.parametrize("ratio", [0.3, 1.0, 2.2])
def test_variable_step_bdf2_is_exact_for_quadratics(ratio):
    h_prev, h = 0.7, 0.7 * ratio
    t = np.array([-h_prev, 0.0, h])  # t_{n-1}, t_n, t_{n+1}

    def y(s):
        return 3.0 - 2.0 * s + 5.0 * s**2

    a0, a1, a2 = bdf_coefficients(h, h_prev)
    derivative = (a0 * y(t[2]) + a1 * y(t[1]) + a2 * y(t[0])) / h
    assert derivative == pytest.approx(-2.0 + 10.0 * h, rel=1e-13)
    assert bdf_coefficients(h, None) == (1.0, -1.0, 0.0)


def test_extrapolation_is_exact_for_its_degree():
    times = [1.0, 0.6, 0.1]
    values = [np.array([2 * s**2 - s + 1]) for s in times]
    assert extrapolate(times, values, 1.7)[0] == pytest.approx(2 * 1.7**2 - 1.7 + 1)


@pytest.mark.parametrize("order", [1, 2])
def test_milne_estimate_is_exact_for_the_next_degree(order):
    """For y' = g(t) with y a polynomial of degree order + 1, the weight times
    (corrector - predictor) equals the corrector's true local error."""
    h2, h1, h = 0.5, 0.8, 1.3
    past = [0.0, -h1, -h1 - h2][: order + 1]  # newest first

    def y(s):
        return 1.0 + s - 0.5 * s**2 + 0.7 * s ** (order + 1)

    def dy(s):
        return 1.0 - s + 0.7 * (order + 1) * s**order

    a0, a1, a2 = bdf_coefficients(h, h1 if order == 2 else None)
    y_prev = y(past[1]) if order == 2 else 0.0
    corrector = (h * dy(h) - a1 * y(0.0) - a2 * y_prev) / a0
    predictor = extrapolate(past, [np.array([y(s)]) for s in past], h)[0]
    estimate = error_weight(order, h, h1, h2 if order == 2 else 0.0) * (corrector - predictor)
    assert estimate == pytest.approx(corrector - y(h), rel=1e-10)
    assert error_weight(2, 1.0, 1.0, 1.0) == pytest.approx(2 / 11)


def test_failed_step_raises_and_keeps_the_last_converged_state():
    """Galvanostatic deposition past Sand's time has no solution: the step is halved
    down to dt_min, then SolverError; the model keeps the last accepted state."""
    c0, d, current = 1000.0, 1.5e-10, 100.0  # salt diffusivity of D+ = 1e-10, D- = 3e-10
    t_sand = math.pi * d * (c0 * FARADAY) ** 2 / (4 * (current * 0.75) ** 2)
    length = 8 * math.sqrt(d * t_sand)
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 50, [0.0, length])
    domain = from_mesh(
        mesh,
        {"electrode": lambda x: np.isclose(x[0], 0.0), "bulk": lambda x: np.isclose(x[0], length)},
    )
    kinetics = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": kinetics}, current_density=-current)
    model = CellModel(domain, binary(c0, 1e-10, 3e-10), [electrode], [Bulk(("bulk",))])
    options = TransientOptions(t_end=2 * t_sand, dt_min=1e-3 * t_sand, tolerance=1e-3)
    solver = TransientSolver(model, options)
    with pytest.raises(SolverError, match=r"halving down to dt_min.* is kept"):
        solver.run()
    assert 0.99 * t_sand < solver.t < t_sand
    assert solver.records[-1]["t"] == solver.t
    assert solver.electrode_minimum() == solver.records[-1]["c_min"]
    assert 0 < solver.records[-1]["c_min"]["li"] < 1e-2 * c0
    assert model.rate_coefficient.value == 0.0


def test_an_accepted_step_sets_the_next_step_and_a_rejected_one_keeps_it():
    """``next_step`` is what a caller marching step by step (the ALE growth) continues
    with: the proposal of the last accepted step, untouched by rejections."""
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 40, [0.0, 1e-4])
    domain = from_mesh(
        mesh,
        {"electrode": lambda x: np.isclose(x[0], 0.0), "bulk": lambda x: np.isclose(x[0], 1e-4)},
    )
    kinetics = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": kinetics}, current_density=-20.0)
    model = CellModel(domain, binary(1000.0, 1e-10, 3e-10), [electrode], [Bulk(("bulk",))])
    solver = TransientSolver(model, TransientOptions(t_end=100.0, dt_initial=0.1, dt_min=1e-3))
    solver.start()
    assert solver.next_step == 0.1
    status, proposed = solver.try_step(0.1)
    assert status == "accepted"
    assert solver.next_step == proposed
    status, smaller = solver.try_step(50.0)  # far beyond the allowed change
    assert status == "rejected"
    assert smaller < 50.0
    assert solver.next_step == proposed


def galvanostatic_1d() -> CellModel:
    """A 100 um binary cell at -20 A/m2 (Broyden control of the electrode potential)."""
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 40, [0.0, 1e-4])
    domain = from_mesh(
        mesh,
        {"electrode": lambda x: np.isclose(x[0], 0.0), "bulk": lambda x: np.isclose(x[0], 1e-4)},
    )
    kinetics = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": kinetics}, current_density=-20.0)
    return CellModel(domain, binary(1000.0, 1e-10, 3e-10), [electrode], [Bulk(("bulk",))])


def test_a_solver_given_another_ones_state_marches_on_alike():
    """``state()`` holds all a march needs (BDF2 history, next step, Broyden Jacobian,
    records): a new solver given it ends exactly where the original ends."""
    options = TransientOptions(t_end=20.0, dt_initial=0.1)
    first = TransientSolver(galvanostatic_1d(), options)
    first.run(callback=lambda solver, record: len(solver.records) > 4)
    meta, arrays = first.state()
    assert len(meta["past_times"]) == 3 and meta["jacobian"] is not None
    second = TransientSolver(galvanostatic_1d(), options)
    second.restore(meta, {k: [a.copy() for a in v] for k, v in arrays.items()})
    assert second.model.snapshot().potentials == first.model.snapshot().potentials
    ends = [solver.run()[-1] for solver in (first, second)]
    assert ends[0] == ends[1] and ends[0]["t"] == 20.0
    assert first.newton.stats.newton_iterations == second.newton.stats.newton_iterations
