"""Fields carried to a new mesh (femli.growth.transfer): interpolating on the
few covering cells (femli.cover) gives the interpolant on every cell, for P1, P2 and
vector fields, on one and two ranks."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.growth import transfer as transfer_module
from femli.growth.transfer import transfer

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


@pytest.mark.parametrize("dim", [2, 3])
def test_p1_nodes_outside_the_old_cells_go_through_dolfinx(dim: int, monkeypatch) -> None:
    """P1 fields take the local barycentric path (every owned node of a mesh inside the
    old one, on one rank); nodes just outside the old mesh (a new boundary 1e-9 out) are
    not inside any cell and get DOLFINx's padded search: the same values as DOLFINx on
    every cell."""
    old, new = meshes(dim)
    new.geometry.x[:, :dim] = (new.geometry.x[:, :dim] - 0.5) * (1 + 2e-9) + 0.5
    source = dolfinx.fem.Function(dolfinx.fem.functionspace(old, ("Lagrange", 1)))
    source.interpolate(lambda x: field(x, ()))
    space = dolfinx.fem.functionspace(new, ("Lagrange", 1))
    plans: list = []
    plan = transfer_module._plan
    monkeypatch.setattr(transfer_module, "_plan", lambda *a: plans.append(plan(*a)) or plans[-1])
    moved, every = dolfinx.fem.Function(space), dolfinx.fem.Function(space)
    moved.x.array[:] = np.nan
    transfer(source, moved)
    cells = np.arange(new.topology.index_map(dim).size_local, dtype=np.int32)
    data = dolfinx.fem.create_interpolation_data(space, source.function_space, cells, 1e-8)
    every.interpolate_nonmatching(source, cells, data)
    every.x.scatter_forward()
    # (a node outside is extrapolated from whichever cell DOLFINx finds: 1e-9 apart)
    assert np.abs(moved.x.array - every.x.array).max() < 1e-8
    (used,) = plans
    x = space.tabulate_dof_coordinates()[: space.dofmap.index_map.size_local, :dim]
    inside = np.flatnonzero(((x > 0) & (x < 1)).all(axis=1))
    assert used.data is not None and len(used.cells)  # the boundary's nodes
    assert len(used.dofs) and set(used.dofs) <= set(inside)  # the others located locally
    if MPI.COMM_WORLD.size == 1:  # (on two ranks, some in the other rank's old cells)
        assert np.array_equal(used.dofs, inside)
