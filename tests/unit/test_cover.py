"""Cells that hold every dof (femli.cover): both covers miss no dof, and the few-cells
cover needs far fewer cells than one per dof, on one and two ranks."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.cover import covering_cells, few_covering_cells

pytestmark = pytest.mark.mpi


def mesh(dim: int) -> dolfinx.mesh.Mesh:
    if dim == 2:
        return dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 13, 11)
    return dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 7, 6, 8)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("element", [("Lagrange", 1), ("Lagrange", 2)])
def test_few_covering_cells_are_owned_and_hold_every_owned_dof(dim: int, element) -> None:
    space = dolfinx.fem.functionspace(mesh(dim), element)
    cells = few_covering_cells(space)
    owned_cells = space.mesh.topology.index_map(dim).size_local
    owned = space.dofmap.index_map.size_local
    assert np.all(np.diff(cells) > 0) and cells.max(initial=0) < owned_cells
    assert np.isin(np.arange(owned), space.dofmap.list[cells]).all()
    if element[1] == 1:  # one cell per dof or more would be every cell again
        assert len(cells) <= 0.6 * owned
    assert np.array_equal(few_covering_cells(space), cells)  # deterministic


@pytest.mark.parametrize("dim", [2, 3])
def test_covering_cells_hold_every_local_dof(dim: int) -> None:
    space = dolfinx.fem.functionspace(mesh(dim), ("Lagrange", 1))
    cells = covering_cells(space)
    local = space.dofmap.index_map.size_local + space.dofmap.index_map.num_ghosts
    assert np.array_equal(np.unique(space.dofmap.list[cells]), np.arange(local))
    assert len(cells) < 0.7 * len(space.dofmap.list)  # 3D: 0.2 (a node in ~20 cells)
