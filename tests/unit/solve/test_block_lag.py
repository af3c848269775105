"""The field split's block multigrids follow SNES's preconditioner lag.

Counted with PETSc's log: every (re)built GAMG hierarchy computes its first Galerkin
coarse operator once. Before the blocks followed the lag, each block's GAMG was rebuilt
at every Newton step whatever the lag.
"""

from __future__ import annotations

import math

import pytest
from mpi4py import MPI
from petsc4py import PETSc

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.newton import Newton

GEOMETRY = {"dim": 2, "width": 5.0, "height": 5.0, "diameter": 0.55, "count": 2, "seed": 3}


@pytest.mark.mpi
@pytest.mark.parametrize("lag", [1, 3])
def test_block_multigrids_are_rebuilt_only_when_snes_rebuilds(lag):
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, refinement=3.0, **GEOMETRY)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, potential=-0.2)
    model = CellModel(domain, binary(1000.0, 2.5e-10, 2.82e-10), [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, -0.2)
    newton = Newton(model, "iterative", {"snes_lag_preconditioner": lag})
    PETSc.Log.begin()
    galerkin = PETSc.Log.Event("PCGAMG Gal l00")
    before = galerkin.getPerfInfo()["count"]
    assert newton.solve()  # from the uniform state: 3 Newton steps
    steps = newton.stats.jacobian_evaluations
    assert steps >= 3
    builds = galerkin.getPerfInfo()["count"] - before
    assert builds == len(model.unknowns) * math.ceil(steps / lag)


@pytest.mark.mpi
def test_every_solve_starts_with_a_fresh_preconditioner():
    """A nearby next solve (a growth step's warm solve on the moved mesh) does not keep
    the last solve's preconditioner, young as it is: kept across a mesh move it took
    82 and 174 Krylov iterations where a fresh one took 30 and 39."""
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, refinement=3.0, **GEOMETRY)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, potential=-0.2)
    model = CellModel(domain, binary(1000.0, 2.5e-10, 2.82e-10), [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, -0.2)
    newton = Newton(model, "iterative", {"snes_lag_preconditioner": 8})
    assert newton.solve() and newton.stats.jacobian_evaluations < 6  # its age stays < 8
    PETSc.Log.begin()
    galerkin = PETSc.Log.Event("PCGAMG Gal l00")
    before = galerkin.getPerfInfo()["count"]
    model.set_potential(electrode, -0.201)  # a nearby state
    assert newton.solve()
    assert galerkin.getPerfInfo()["count"] - before == len(model.unknowns)
