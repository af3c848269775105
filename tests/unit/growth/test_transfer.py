"""Fields carried to a new mesh (femli.growth.remesh.transfer): interpolating on the
few covering cells (femli.cover) gives the interpolant on every cell, for P1, P2 and
vector fields, on one and two ranks."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.growth.remesh import transfer

pytestmark = pytest.mark.mpi


def meshes(dim: int) -> tuple[dolfinx.mesh.Mesh, dolfinx.mesh.Mesh]:
    """Two non-matching meshes of the unit square/cube (the second one distorted)."""
    comm = MPI.COMM_WORLD
    if dim == 2:
        old = dolfinx.mesh.create_unit_square(comm, 13, 11)
        new = dolfinx.mesh.create_unit_square(comm, 9, 10, dolfinx.mesh.CellType.triangle)
    else:
        old = dolfinx.mesh.create_unit_cube(comm, 7, 6, 8)
        new = dolfinx.mesh.create_unit_cube(comm, 5, 6, 4)
    x = new.geometry.x
    x[:, 0] += 0.05 * np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])  # inside [0, 1]
    return old, new


def field(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    value = np.sin(3 * x[0]) * np.cos(2 * x[1]) + x[-1] ** 2
    return value if not shape else np.stack([value * (k + 1) for k in range(shape[0])])


ELEMENTS = [("Lagrange", 1), ("Lagrange", 2), ("Lagrange", 1, (2,))]


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("element", ELEMENTS)
def test_transfer_equals_interpolation_on_every_cell(dim: int, element: tuple) -> None:
    old, new = meshes(dim)
    source = dolfinx.fem.Function(dolfinx.fem.functionspace(old, element))
    shape = element[2] if len(element) > 2 else ()
    source.interpolate(lambda x: field(x, shape))
    space = dolfinx.fem.functionspace(new, element)
    moved, every = dolfinx.fem.Function(space), dolfinx.fem.Function(space)
    moved.x.array[:] = np.nan  # a dof transfer leaves out stays NaN
    cache: dict = {}
    transfer(source, moved, cache)
    cells = np.arange(new.topology.index_map(dim).size_local, dtype=np.int32)
    data = dolfinx.fem.create_interpolation_data(space, source.function_space, cells, 1e-8)
    every.interpolate_nonmatching(source, cells, data)
    every.x.scatter_forward()
    assert np.all(np.isfinite(moved.x.array))
    assert np.allclose(moved.x.array, every.x.array, rtol=0, atol=1e-12)
    again = dolfinx.fem.Function(space)
    transfer(source, again, cache)  # the cached data for the next field
    assert np.array_equal(again.x.array, moved.x.array)
