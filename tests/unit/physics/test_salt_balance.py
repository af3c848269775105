"""The binary salt balance: the species row minus (t/z) x the charge row.

It must be the same discrete system as the plain Nernst-Planck rows (an invertible row
combination): equal residuals after the combination, the same solution, and a
concentration row whose Jacobian couples to the potential on electrodes only.
"""

from __future__ import annotations

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, RegionProperties, Species, binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.stationary import StationaryOptions, StationarySolver

L = 1.0e-5  # m


def domain():
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 12, 12)
    mesh.geometry.x[:] *= L
    return from_mesh(
        mesh,
        {
            "electrode": lambda x: np.isclose(x[1], 0.0),
            "bulk": lambda x: np.isclose(x[1], L),
        },
        {"coating": lambda x: x[1] < 0.3 * L},
    )


def model(salt_balance: bool, electrolyte: Electrolyte | None = None) -> CellModel:
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": kinetics}, potential=-0.1)
    if electrolyte is None:
        coating = RegionProperties("coating", porosity=0.5, tortuosity=2.0)
        electrolyte = binary(1000.0, 2.5e-10, 2.82e-10, regions=(coating,))
    cell = CellModel(
        domain(), electrolyte, [electrode], [Bulk(("bulk",))], salt_balance=salt_balance
    )
    cell.set_potential(electrode, -0.1)
    return cell


def set_state(cell: CellModel) -> None:
    x = cell.space.tabulate_dof_coordinates()
    c, phi = cell.unknowns
    c.x.array[:] = 1000.0 * (1.0 + 0.3 * np.sin(4.0e5 * x[:, 0]) * np.cos(3.0e5 * x[:, 1]))
    phi.x.array[:] = -0.04 * np.cos(2.0e5 * x[:, 0]) + 0.01 * x[:, 1] / L


def residuals(cell: CellModel) -> list[np.ndarray]:
    set_state(cell)
    return [
        dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(r)).getArray().copy()
        for r in cell.residual
    ]


def test_salt_row_is_the_species_row_minus_t_over_z_times_the_charge_row():
    salt, plain = model(True), model(False)
    assert salt.salt is not None and plain.salt is None
    # a volume source in the charge equation must reach the combined row too
    for cell in (salt, plain):
        x = ufl.SpatialCoordinate(cell.domain.mesh)
        cell.add_source("charge", 1.0e-3 * ufl.sin(3.0e5 * x[0]), cell.domain.dx())
    (rs, qs), (rp, qp) = residuals(salt), residuals(plain)
    t = salt.salt[0]
    assert t == pytest.approx(2.5 / (2.5 + 2.82))
    scale = np.abs(rp).max()
    np.testing.assert_allclose(qs, qp, rtol=0, atol=1e-13 * np.abs(qp).max())
    np.testing.assert_allclose(rs, rp - t * qp, rtol=0, atol=1e-12 * scale)
    # and the combination is not trivially satisfied: the rows differ
    assert np.abs(rs - rp).max() > 1e-3 * scale


def test_concentration_row_couples_to_the_potential_on_the_electrode_only():
    cell = model(True)
    set_state(cell)
    block = ufl.derivative(cell.residual[0], cell.phi, ufl.TrialFunction(cell.phi.function_space))
    A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(block))
    A.assemble()
    rows = np.flatnonzero(
        np.abs(A.getValues(range(*A.getOwnershipRange()), range(A.getSize()[1]))).sum(axis=1)
    )
    on_electrode = dolfinx.fem.locate_dofs_topological(
        cell.space, 1, cell.domain.facets("electrode")
    )
    assert rows.size > 0
    assert set(rows) <= set(on_electrode)


def test_same_solution_as_the_plain_rows():
    states = []
    for flag in (True, False):
        cell = model(flag)
        StationarySolver(cell, StationaryOptions(preset="direct")).solve()
        states.append([u.x.array.copy() for u in cell.unknowns])
    for a, b in zip(*states, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_salt_diffusivities():
    el = Electrolyte(
        (Species("Zn2+", 2, 7e-10, 500.0), Species("Cl-", -1, 2e-9, 1000.0)), reacting="Zn2+"
    )
    (t, d_amb) = el.salt_diffusivities()[None]
    assert t == pytest.approx(2 * 7e-10 / (2 * 7e-10 + 2e-9))
    assert d_amb == pytest.approx(3 * 7e-10 * 2e-9 / (2 * 7e-10 + 2e-9))
    three = Electrolyte(
        (
            Species("Li+", 1, 1e-9, 1000.0),
            Species("A-", -1, 1e-9, 900.0),
            Species("B-", -1, 1e-9, 100.0),
        )
    )
    assert three.salt_diffusivities() is None
    uneven = binary(1000.0, 1e-9, 2e-9, regions=(RegionProperties("coating", {"Li+": 3e-10}),))
    assert uneven.salt_diffusivities() is None
    assert binary(1000.0, 1e-9, 2e-9, model="secondary").salt_diffusivities() is None
