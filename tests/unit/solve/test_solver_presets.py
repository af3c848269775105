"""Solver presets as data; iterative and direct agree; failure is an error, not a result."""

from __future__ import annotations

import gc

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI
from petsc4py import PETSc

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve import presets
from femli.solve.newton import Newton, SolverError
from femli.solve.stationary import StationaryOptions, StationarySolver


def test_auto_picks_direct_for_small_problems():
    assert presets.resolve("auto", 1000) == "direct"
    assert presets.resolve("auto", 10 * presets.DIRECT_DOF_LIMIT) == "iterative"
    with pytest.raises(ValueError, match="not one of"):
        presets.resolve("hypre", 10)


def test_iterative_preset_splits_every_field():
    opts = presets.petsc_options("iterative", 3)
    assert opts["pc_type"] == "fieldsplit"
    assert all(opts[f"fieldsplit_{k}_pc_type"] == "gamg" for k in range(3))
    assert presets.petsc_options("direct", 2)["pc_factor_mat_solver_type"] == "mumps"


def square_model(current_density: float) -> tuple[CellModel, Electrode]:
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 24, 24)
    mesh.geometry.x[:] *= 10e-6
    domain = from_mesh(
        mesh,
        {
            "electrode": lambda x: np.isclose(x[1], 0.0) & (x[0] < 6e-6),
            "bulk": lambda x: np.isclose(x[1], 10e-6),
        },
    )
    kinetics = ButlerVolmer(30.0, 1.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": kinetics}, current_density=current_density)
    return CellModel(domain, binary(100.0, 5e-10, 5e-10), [electrode], [Bulk(("bulk",))]), electrode


@pytest.mark.mpi
def test_iterative_matches_direct():
    potentials = []
    for preset in ("direct", "iterative"):
        model, _ = square_model(-200.0)
        solver = StationarySolver(model, StationaryOptions(preset=preset))
        solver.solve()
        assert solver.newton.preset == preset
        potentials.append(model.potentials["li"].value.item())
    assert potentials[1] == pytest.approx(potentials[0], rel=1e-7)


def test_current_beyond_the_limit_fails_cleanly():
    """Above the mass-transport limit no steady state exists: a SolverError, never a result."""
    model, _ = square_model(-50_000.0)
    solver = StationarySolver(model, StationaryOptions(max_continuation_steps=6))
    with pytest.raises(SolverError, match=r"did not converge.*continuation"):
        solver.solve()


@pytest.mark.mpi
def test_a_freed_solver_takes_its_petsc_options_with_it():
    """PETSc options outlive their solvers: a study builds many, so each Newton drops
    its own when freed (and PETSc does not warn at exit about options never read)."""
    model, _ = square_model(-50.0)
    newton = Newton(model, "iterative")
    prefix, petsc = newton.prefix, PETSc.Options()
    assert {f"{prefix}pc_type", f"{prefix}fieldsplit_1_pc_type"} <= set(petsc.getAll())
    del newton
    gc.collect()
    assert not [k for k in petsc.getAll() if k.startswith(prefix)]
