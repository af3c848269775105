"""Cells that hold every dof of a function space.

Interpolating a continuous field (an expression, a function on another mesh) sets each
dof to the value at its point, the same from any cell that has it; on a P1 space every
node lies in about 20 tetrahedra (6 triangles), so interpolating on all cells computes
each value that many times. Two covers:

- :func:`covering_cells`: for each dof one cell that has it (about one cell per node;
  the cost of finding them is one pass over the dofmap), for cheap per-cell work
  (evaluating an expression for the output fields);
- :func:`few_covering_cells`: far fewer cells (2.3 P1 nodes per tetrahedron on the
  test meshes), for dear per-cell work: locating a cell's points in another mesh (a
  remesh's transfer), where 4 points per cell of the first cover cost 2x more.
"""

from __future__ import annotations

import dolfinx
import numpy as np

__all__ = ["covering_cells", "few_covering_cells"]

#: Rounds of :func:`few_covering_cells`'s independent-set selection (6-7 on the test
#: meshes; the dofs still left then get a cell each).
ROUNDS = 30


def covering_cells(space: dolfinx.fem.FunctionSpace) -> np.ndarray:
    """Local cells (owned and ghost) among which every local dof of ``space`` has a cell:
    for each dof, the last cell listing it in the dofmap (sorted, unique)."""
    dofs = space.dofmap.list
    owner = np.empty(
        space.dofmap.index_map.size_local + space.dofmap.index_map.num_ghosts, dtype=np.int32
    )
    owner[dofs.ravel()] = np.repeat(np.arange(len(dofs), dtype=np.int32), dofs.shape[1])
    return np.unique(owner)


def few_covering_cells(space: dolfinx.fem.FunctionSpace) -> np.ndarray:
    """Owned cells that hold every owned dof of ``space`` (sorted, unique), few of them.

    Rounds of Luby's independent-set selection on cells that share dofs: among the cells
    none of whose dofs is covered yet, those whose (seeded random) priority is the lowest
    at each of their dofs are taken (they share no dof: no value is computed twice);
    then each dof still left out gets the first cell that has it. Deterministic."""
    mesh = space.mesh
    num_cells = mesh.topology.index_map(mesh.topology.dim).size_local
    rows = space.dofmap.list[:num_cells]
    width = rows.shape[1]
    owned = space.dofmap.index_map.size_local
    covered = np.zeros(owned + space.dofmap.index_map.num_ghosts, dtype=bool)
    priority = np.random.default_rng(0).permutation(num_cells)
    open_cells = np.arange(num_cells)
    chosen = []
    for _ in range(ROUNDS):
        if not open_cells.size:
            break
        dofs, rank = rows[open_cells], priority[open_cells]
        lowest = np.full(len(covered), num_cells, dtype=np.int64)
        np.minimum.at(lowest, dofs.ravel(), np.repeat(rank, width))
        taken = (lowest[dofs] == rank[:, None]).all(axis=1)
        chosen.append(open_cells[taken])
        covered[dofs[taken]] = True
        open_cells = open_cells[~covered[dofs].any(axis=1)]
    flat = rows.ravel()
    left = np.flatnonzero(~covered[flat] & (flat < owned))
    _, first = np.unique(flat[left], return_index=True)
    chosen.append(left[first] // width)
    return np.unique(np.concatenate(chosen)).astype(np.int32)
