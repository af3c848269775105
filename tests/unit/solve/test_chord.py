"""Chord steps in warm-started solves (Newton.chord): a growth step's solve from the
shape before builds its Jacobian every other Newton step and lands on the same state."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.newton import Newton
from femli.solve.stationary import StationaryOptions, StationarySolver

GEOMETRY = {"dim": 2, "width": 5.0, "height": 5.0, "diameter": 0.55, "count": 2, "seed": 3}


def nuclei(potential: float) -> tuple[CellModel, Electrode]:
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, refinement=3.0, **GEOMETRY)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, potential=potential)
    model = CellModel(domain, binary(1000.0, 2.5e-10, 2.82e-10), [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, potential)
    return model, electrode


def largest(model: CellModel, other: list[np.ndarray]) -> float:
    """Largest change between the unknowns and ``other``, each over its own size."""
    local = max(
        float(np.abs(u.x.array - o).max(initial=0.0)) / max(float(np.abs(o).max()), 1e-300)
        for u, o in zip(model.unknowns, other, strict=True)
    )
    return model.domain.comm.allreduce(local, op=MPI.MAX)


@pytest.mark.mpi
@pytest.mark.parametrize("preset", ["iterative", "direct"])
def test_a_warm_solve_with_chord_steps_lands_on_the_full_newton_state(preset):
    model, electrode = nuclei(-0.2)
    newton = Newton(model, preset)
    assert newton.solve()
    start = newton.snapshot()
    model.set_potential(electrode, -0.20001)  # a nearby state, as a growth step's
    assert newton.solve()
    full = newton.snapshot()
    assert newton.stats.jacobians_reused == 0
    newton.restore(start)
    before = newton.stats.jacobian_evaluations, newton.stats.newton_iterations
    with newton.chord(2):
        assert newton.solve()
    built = newton.stats.jacobian_evaluations - before[0]
    steps = newton.stats.newton_iterations - before[1]
    assert steps >= 2 and built == (steps + 1) // 2  # at the steps 0, 2, 4, ...
    assert newton.stats.jacobians_reused == steps - built
    assert newton.test is not None and newton.test.jacobian_at == 2 * ((steps - 1) // 2)
    assert largest(model, full) < 1e-8
    assert newton.jacobian_every == 1  # only inside the block
    with pytest.raises(ValueError, match="every must be >= 1"), newton.chord(0):
        pass


@pytest.mark.mpi
@pytest.mark.parametrize(("shift", "chord"), [(1e-5, True), (1e-2, False)])
def test_the_warm_solve_of_a_growth_step_takes_chord_steps_near_the_solution(shift, chord):
    """From a state a scaled 1e-5 away (a growth step's) the second Newton step keeps the
    first Jacobian; from 1e-2 away (beyond CHORD_STEP) every step builds its own."""
    model, _ = nuclei(-0.2)
    solver = StationarySolver(model, StationaryOptions(preset="iterative"))
    solver.solve()
    stats = solver.newton.stats
    assert stats.jacobians_reused == 0  # a cold start builds every step
    for u in model.unknowns:
        u.x.array[:] *= 1.0 + shift
    solver.solve_warm()
    assert (stats.jacobians_reused >= 1) == chord
    assert stats.history[-1] >= 2
