"""The coarse mesh a split mesh was made from, kept for cheap initial guesses.

A mesh built with ``split_levels`` (:mod:`femli.split`) is the uniform refinement of a
coarse Gmsh mesh with 8x (3D; 4x in 2D) fewer cells per level. Problems whose solution
only starts a Newton iteration (the secondary initial guess of a concentration model)
can be solved on the coarse mesh and prolonged: every fine node lies in (or, for a
boundary node put back on a curved surface, next to) its cell's parent, and the
coarse P1 function is evaluated there from the parent's barycentric coordinates. On
the nested part of the mesh this is exact for the coarse P1 function.

The coarse mesh describes the shape as it was split: once the fine mesh moves (growth),
:meth:`Coarse.matches` is false and guesses are solved on the fine mesh again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dolfinx
import numpy as np
from mpi4py import MPI

if TYPE_CHECKING:
    from femli.mesh import Domain

__all__ = ["Coarse"]


@dataclass(slots=True)
class Coarse:
    """The coarse domain of a split mesh.

    Attributes:
        domain: the coarse mesh (m) with the fine one's region names.
        parents: per local fine cell, its local coarse cell.
        x: the fine mesh's geometry (m) when it was split.
    """

    domain: Domain
    parents: np.ndarray
    x: np.ndarray

    def __post_init__(self) -> None:
        if self.parents.ndim != 1 or (self.parents.size > 0 and self.parents.min() < 0):
            raise ValueError("parents must be one non-negative coarse cell per fine cell")

    def matches(self, fine: Domain) -> bool:
        """Whether ``fine`` is still the mesh that was split from this one (not moved,
        same cells on every rank). Collective."""
        local = fine.mesh.topology.index_map(fine.dim).size_local
        same = (
            local == len(self.parents)
            and fine.mesh.geometry.x.shape == self.x.shape
            and bool(np.array_equal(fine.mesh.geometry.x, self.x))
        )
        return bool(fine.comm.allreduce(same, op=MPI.LAND))

    def prolong(self, source: dolfinx.fem.Function, target: dolfinx.fem.Function) -> None:
        """``target`` (a Lagrange function on the fine mesh) := ``source`` (P1 on the
        coarse mesh) at the target's nodes, from each node's parent cell. Rank-local
        evaluation, then the ghosts from their owners (collective)."""
        fine_space, coarse_space = target.function_space, source.function_space
        if coarse_space.element.basix_element.degree != 1:
            raise ValueError("prolongation needs a P1 coarse function")
        cells, points = _node_cells(fine_space)
        nodes = coarse_space.dofmap.list[self.parents[cells]]  # (n, d + 1) coarse dofs
        corners = coarse_space.tabulate_dof_coordinates()[nodes]
        weights = _barycentric(corners, points, fine_space.mesh.geometry.dim)
        values = np.einsum("ij,ij->i", weights, source.x.array[nodes])
        target.x.array[:] = values
        target.x.scatter_forward()


def _node_cells(space: dolfinx.fem.FunctionSpace) -> tuple[np.ndarray, np.ndarray]:
    """For every local node of a scalar ``space``: one local cell holding it, and the
    node's coordinates (m)."""
    dofs = space.dofmap.list
    size = space.dofmap.index_map.size_local + space.dofmap.index_map.num_ghosts
    cells = np.empty(size, dtype=np.int64)
    cells[dofs.ravel()] = np.repeat(np.arange(dofs.shape[0]), dofs.shape[1])
    return cells, space.tabulate_dof_coordinates()


def _barycentric(corners: np.ndarray, points: np.ndarray, gdim: int) -> np.ndarray:
    """Barycentric coordinates (n, d + 1) of ``points`` (n, 3) in the simplices with
    vertex coordinates ``corners`` (n, d + 1, 3); d = the simplices' dimension."""
    if corners.shape[1] - 1 != gdim:
        raise ValueError("prolongation needs cells of the mesh's geometric dimension")
    origin = corners[:, 0, :gdim]
    edges = np.transpose(corners[:, 1:, :gdim] - origin[:, None, :], (0, 2, 1))  # (n, g, d)
    offsets = points[:, :gdim] - origin
    local = np.linalg.solve(edges, offsets[:, :, None])[:, :, 0]
    return np.column_stack([1.0 - local.sum(axis=1), local])
