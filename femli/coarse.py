"""The coarse mesh a split mesh was made from, kept for cheap initial guesses.

A mesh built with ``split_levels`` (:mod:`femli.split`) is the uniform refinement of a
coarse Gmsh mesh with 8x (3D; 4x in 2D) fewer cells per level. Problems whose solution
only starts a Newton iteration (the secondary initial guess of a concentration model)
can be solved on the coarse mesh and prolonged: every fine node lies in (or, for a
boundary node put back on a curved surface, next to) its cell's parent, where the
coarse function is evaluated: no search for the cell, and on the nested part of the
mesh the coarse function itself.

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
        same = local == len(self.parents) and bool(np.array_equal(fine.mesh.geometry.x, self.x))
        return bool(fine.comm.allreduce(same, op=MPI.LAND))

    def prolong(self, source: dolfinx.fem.Function, target: dolfinx.fem.Function) -> None:
        """``target`` (a scalar Lagrange function on the fine mesh) := ``source`` (on the
        coarse mesh) at the target's nodes, each evaluated in its cell's parent
        (``Function.eval``). Rank-local evaluation, then the ghosts from their owners
        (collective)."""
        space = target.function_space
        dofs = space.dofmap.list
        cells = np.empty(len(target.x.array), dtype=np.int64)  # one cell per node
        cells[dofs.ravel()] = np.repeat(np.arange(dofs.shape[0]), dofs.shape[1])
        parents = self.parents[cells].astype(np.int32)
        target.x.array[:] = source.eval(space.tabulate_dof_coordinates(), parents).ravel()
        target.x.scatter_forward()
