"""Fields carried from an old mesh to a new mesh of the same shape (a remesh, a merge, a
level-set rebuild): interpolation between non-matching meshes. Collective.

Continuous P1 fields (every unknown femli solves for) take a fast path: each owned node of
the new mesh is located among the old mesh's cells on its own rank (the cells whose
centres are nearest, by barycentric coordinates), and its
value is the old field's linear interpolant there. DOLFINx's general search
(``create_interpolation_data``: bounding-box trees, collision tests, a parallel
exchange) took 2.0 s for 134 k nodes, about a fifth of a 3D remesh. Nodes not inside a
local cell (owned by another rank's part of the old mesh, or just outside the old
boundary) go through DOLFINx's search, on the new cells that hold them. Other spaces go
through it altogether, on the few cells that cover their dofs
(:func:`~femli.cover.few_covering_cells`).
"""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx
import numpy as np
from dolfinx.geometry import PointOwnershipData
from mpi4py import MPI
from scipy.spatial import cKDTree

from femli.cover import few_covering_cells

__all__ = ["transfer"]

SIMPLICES = (dolfinx.mesh.CellType.triangle, dolfinx.mesh.CellType.tetrahedron)

#: Old cells tried per new node (the nearest by centre).
CANDIDATES = 8

#: Nodes not found among their nearest cells try this many times as many.
WIDER = 12

#: A node is inside a cell when none of its barycentric coordinates is below minus this.
INSIDE = 1e-10

#: Nodes located at a time (bounds the candidates' temporary arrays: ~30 MB).
CHUNK = 32768

#: DOLFINx's search accepts points this far outside a cell (m).
PADDING = 1e-8


@dataclass(slots=True)
class _Plan:
    """Where the new space's dofs lie in the old one: ``dofs`` (owned, found locally)
    take ``weights``-sums of the old ``sources``; the new cells ``cells`` are
    interpolated by DOLFINx with ``data`` (None on every rank when no rank needs it)."""

    dofs: np.ndarray
    sources: np.ndarray
    weights: np.ndarray
    cells: np.ndarray
    data: PointOwnershipData | None


def transfer(
    source: dolfinx.fem.Function, target: dolfinx.fem.Function, cache: dict | None = None
) -> None:
    """Interpolate ``source`` (old mesh) into ``target`` (new mesh). ``cache`` keeps where
    the target's dofs lie in the old mesh (the dear part) for the next field of the same
    spaces. Collective."""
    space, old = target.function_space, source.function_space
    key = tuple((id(v.mesh), str(v.ufl_element())) for v in (space, old))
    plan = None if cache is None else cache.get(key)
    if plan is None:
        plan = _plan(old, space) if _linear(old) and _linear(space) else _general(old, space)
        if cache is not None:
            cache[key] = plan
    if plan.data is not None:
        target.interpolate_nonmatching(source, plan.cells, plan.data)
    if len(plan.dofs):
        values = source.x.array[plan.sources]
        target.x.array[plan.dofs] = np.einsum("ij,ij->i", values, plan.weights)
    target.x.scatter_forward()


def _linear(space: dolfinx.fem.FunctionSpace) -> bool:
    """Whether ``space`` is scalar continuous P1 on an affine simplex mesh."""
    element = space.ufl_element()
    mesh = space.mesh
    return (
        element.degree == 1
        and not element.discontinuous
        and element.reference_value_shape == ()
        and mesh.geometry.cmaps[0].degree == 1
        and mesh.geometry.dim == mesh.topology.dim
        and mesh.topology.cell_type in SIMPLICES
    )


def _general(old: dolfinx.fem.FunctionSpace, space: dolfinx.fem.FunctionSpace) -> _Plan:
    cells = few_covering_cells(space)
    data = dolfinx.fem.create_interpolation_data(space, old, cells, padding=PADDING)
    empty = np.zeros(0, dtype=np.int64)
    return _Plan(empty, np.zeros((0, 1), dtype=np.int32), np.zeros((0, 1)), cells, data)


def _plan(old: dolfinx.fem.FunctionSpace, space: dolfinx.fem.FunctionSpace) -> _Plan:
    """The fast path's plan (P1 to P1). Collective (whether DOLFINx's search is needed)."""
    tdim = space.mesh.topology.dim
    owned = space.dofmap.index_map.size_local
    points = space.tabulate_dof_coordinates()[:owned, :tdim]
    cells, weights = _locate(old.mesh, points)
    found = cells >= 0
    sources = old.dofmap.list[cells[found]]
    missing = ~found
    comm = space.mesh.comm
    cells_out, data = np.zeros(0, dtype=np.int32), None
    if comm.allreduce(int(missing.sum()), op=MPI.SUM):
        lost = np.zeros(owned + space.dofmap.index_map.num_ghosts, dtype=bool)
        lost[:owned] = missing
        cells_out = np.flatnonzero(lost[space.dofmap.list].any(axis=1)).astype(np.int32)
        data = dolfinx.fem.create_interpolation_data(space, old, cells_out, padding=PADDING)
    return _Plan(np.flatnonzero(found), sources, weights[found], cells_out, data)


def _locate(mesh: dolfinx.mesh.Mesh, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point (n, tdim): a local cell of ``mesh`` holding it (-1: none) and its
    barycentric coordinates there (n, tdim + 1), in the cell's vertex order. Points not
    in any of their :data:`CANDIDATES` nearest cells try :data:`WIDER` times as many."""
    tdim = mesh.topology.dim
    count = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    cells = np.full(len(points), -1)
    weights = np.zeros((len(points), tdim + 1))
    if not len(points) or not count:
        return cells, weights
    corners = mesh.geometry.x[mesh.geometry.dofmaps[0][:count], :tdim]  # (m, tdim+1, tdim)
    origin = corners[:, 0]
    inverse = np.linalg.inv(np.swapaxes(corners[:, 1:] - origin[:, None], 1, 2))
    tree = cKDTree(corners.mean(axis=1))
    todo = np.arange(len(points))
    for k in (CANDIDATES, WIDER * CANDIDATES):
        k = min(k, count)
        rows_per_chunk = CHUNK * CANDIDATES // k  # the same temporary arrays for every k
        for start in range(0, len(todo), rows_per_chunk):
            rows = todo[start : start + rows_per_chunk]
            p = points[rows]
            near = np.reshape(tree.query(p, k=k)[1], (len(p), k))
            inner = np.einsum("pkij,pkj->pki", inverse[near], p[:, None, :] - origin[near])
            bary = np.concatenate([1.0 - inner.sum(axis=2, keepdims=True), inner], axis=2)
            best = bary.min(axis=2).argmax(axis=1)
            pick = np.arange(len(p))
            cells[rows], weights[rows] = near[pick, best], bary[pick, best]
        todo = np.flatnonzero(weights.min(axis=1) < -INSIDE)
        if not todo.size:
            break
    cells[todo] = -1
    return cells, weights
