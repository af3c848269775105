"""Nodal values of UFL expressions for the field files and metrics (``p1_values``)."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.outputs.quantities import p1_values


@pytest.mark.mpi
def test_nodal_values_from_the_covering_cells_are_those_from_every_cell():
    """Evaluated on a few cells per node (ghosts too; the cover itself is tested in
    tests/unit/test_cover.py), an expression of P1 functions has the values
    interpolation over all cells gives, at every local dof."""
    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 5, 4, 3)
    space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    c = dolfinx.fem.Function(space)
    c.interpolate(lambda x: 1.0 + x[0] ** 2 + np.sin(3.0 * x[1]) * x[2])
    expr = 2.0 * c * c - ufl.exp(-c)
    every = dolfinx.fem.Function(space)
    every.interpolate(dolfinx.fem.Expression(expr, space.element.interpolation_points))
    assert p1_values(expr, space) == pytest.approx(every.x.array, rel=1e-14)
    assert np.array_equal(p1_values(c, space), c.x.array)
