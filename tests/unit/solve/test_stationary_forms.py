"""Stationary solves use the residual without the storage term; time steps keep it."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.newton import Newton

LENGTH = 50e-6  # m


def _model() -> CellModel:
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 40, [0.0, LENGTH])
    domain = from_mesh(
        mesh,
        {"electrode": lambda x: np.isclose(x[0], 0.0), "bulk": lambda x: np.isclose(x[0], LENGTH)},
    )
    kinetics = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": kinetics}, potential=-0.05)
    model = CellModel(domain, binary(1000.0, 1e-10, 3e-10), [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, electrode.potential)
    return model


def _assembled(forms) -> np.ndarray:
    return np.concatenate([dolfinx.fem.assemble_vector(dolfinx.fem.form(f)).array for f in forms])


@pytest.mark.mpi
def test_stationary_residual_equals_the_full_one_without_time_terms():
    model = _model()
    model.unknowns[0].x.array[:] *= 1.0 + 0.1 * np.sin(np.arange(model.unknowns[0].x.array.size))
    assert model.is_stationary()
    assert np.allclose(_assembled(model.residual), _assembled(model.stationary_residual))
    model.rate_coefficient.value = 1.0
    assert not model.is_stationary()
    assert not np.allclose(_assembled(model.residual), _assembled(model.stationary_residual))
    model.rate_coefficient.value = 0.0
    model.history[0].x.array[:] = 1.0
    assert not model.is_stationary()


@pytest.mark.mpi
def test_a_time_step_solve_keeps_the_storage_term():
    """One implicit step from the bulk state is not the steady state; with the storage
    term dropped it would be."""
    model = _model()
    newton = Newton(model, "direct")
    c_bulk = model.unknowns[0].x.array.copy()
    dt = 1e-3 * LENGTH**2 / 1e-10
    model.rate_coefficient.value = 1.0 / dt
    model.history[0].x.array[:] = -c_bulk / dt
    assert newton.solve()
    step = model.unknowns[0].x.array.copy()
    model.rate_coefficient.value = 0.0
    model.history[0].x.array[:] = 0.0
    assert newton.solve()
    steady = model.unknowns[0].x.array
    comm = model.domain.comm
    change = comm.allreduce(np.abs(step - c_bulk).max(initial=0.0), op=MPI.MAX)
    gap = comm.allreduce(np.abs(step - steady).max(initial=0.0), op=MPI.MAX)
    assert change > 0.0
    assert gap > 0.5 * comm.allreduce(np.abs(steady - c_bulk).max(initial=0.0), op=MPI.MAX)
