"""The iterative preset's nested residual and Jacobian (assembled block by block, without
lifting) equal DOLFINx's monolithic ones (with lifting) at a state that satisfies the
Dirichlet conditions, as every Newton iterate does."""

from __future__ import annotations

import dolfinx.fem.petsc
import numpy as np
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


@pytest.fixture(scope="module")
def model() -> CellModel:
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, refinement=1.0, **GEOMETRY)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, potential=-0.2)
    electrolyte = binary(1000.0, 2.5e-10, 2.82e-10)
    cell = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])
    cell.set_potential(electrode, -0.2)
    return cell


def set_state(model: CellModel, newton: Newton) -> None:
    """A state far from the solution (Dirichlet values imposed) copied into SNES's x."""
    x = model.space.tabulate_dof_coordinates()
    c, phi = model.unknowns
    c.x.array[:] = 1000.0 * (1.0 + 0.2 * np.sin(3.0e6 * x[:, 0]) * np.sin(2.0e6 * x[:, 1]))
    phi.x.array[:] = -0.05 * np.cos(1.0e6 * x[:, 0])
    newton._impose_dirichlet()
    dolfinx.fem.petsc.assign(model.unknowns, newton.problem.x)


def owned(vec) -> np.ndarray:
    """Owned entries field after field (the layout of both the nested and the block vector)."""
    if vec.getType() == "nest":
        return np.concatenate([v.getArray() for v in vec.getNestSubVecs()])
    return vec.getArray()


@pytest.mark.mpi
def test_nested_residual_and_jacobian_equal_the_monolithic_ones(model):
    nested, monolithic = Newton(model, "iterative"), Newton(model, "direct")
    assert nested.problem.A.getType() == "nest"
    assert monolithic.problem.A.getType() != "nest"
    vectors, matrices = [], []
    for newton in (nested, monolithic):
        set_state(model, newton)
        snes, x = newton.problem.solver, newton.problem.x
        b, A = newton.problem.b, newton.problem.A
        snes.computeFunction(x, b)
        snes.computeJacobian(x, A, A)
        vectors.append(owned(b).copy())
        matrices.append(A.convert("aij") if A.getType() == "nest" else A)
    comm = MPI.COMM_WORLD
    scale = comm.allreduce(float(np.abs(vectors[1]).max()), op=MPI.MAX)
    assert scale > 0.0
    diff = comm.allreduce(float(np.abs(vectors[0] - vectors[1]).max()), op=MPI.MAX)
    assert diff <= 1e-12 * scale
    difference = matrices[0].copy()
    difference.axpy(-1.0, matrices[1])
    assert difference.norm() <= 1e-12 * matrices[1].norm()


def jacobian_difference(nested: Newton, monolithic: Newton) -> float:
    """Relative difference of the two Jacobians at the model's present state."""
    matrices = []
    for newton in (nested, monolithic):
        newton._impose_dirichlet()
        dolfinx.fem.petsc.assign(newton.model.unknowns, newton.problem.x)
        snes, x, A = newton.problem.solver, newton.problem.x, newton.problem.A
        snes.computeJacobian(x, A, A)
        # a new matrix: convert() without one would turn the nested matrix itself to aij
        matrices.append(A.convert("aij", PETSc.Mat()) if A.getType() == "nest" else A)
    difference = matrices[0].copy()
    difference.axpy(-1.0, matrices[1])
    return difference.norm() / matrices[1].norm()


@pytest.mark.mpi
def test_kept_state_independent_block_follows_state_time_step_and_mesh(model):
    """The salt row's volume block is kept between evaluations: it must still equal the
    monolithic Jacobian after the state, dt (a constant) and the mesh geometry change."""
    nested, monolithic = Newton(model, "iterative"), Newton(model, "direct")
    jacobian = nested.problem.solver.getJacobian()[2][0]
    kept = jacobian.__closure__ and [
        c.cell_contents for c in jacobian.__closure__ if hasattr(c.cell_contents, "kept")
    ]
    assert kept and (0, 0) in kept[0].kept
    x = model.domain.mesh.geometry.x
    original = x.copy()
    try:
        set_state(model, nested)
        assert jacobian_difference(nested, monolithic) < 1e-12  # whole blocks, first time
        model.unknowns[0].x.array[:] *= 0.9  # kept part reused
        assert jacobian_difference(nested, monolithic) < 1e-12
        model.rate_coefficient.value = 1.0e3  # 1/dt: the kept part is stale
        assert jacobian_difference(nested, monolithic) < 1e-12
        x[:, 1] *= 1.05  # the mesh moved
        assert jacobian_difference(nested, monolithic) < 1e-12
        if MPI.COMM_WORLD.rank == 0:  # only one rank's nodes move: still reassembled
            x[:, 0] *= 1.02  # everywhere (a rank-local decision would hang the others)
        assert jacobian_difference(nested, monolithic) < 1e-12
    finally:
        x[:] = original
        model.rate_coefficient.value = 0.0
