"""Uniform refinement of a simplex mesh: every triangle into 4, every tetrahedron into 8,
the children of a cell kept together and on its rank.

Why not :func:`dolfinx.mesh.refine`: it hands the new cells to DOLFINx's general mesh
constructor, which builds the cells' dual graph and reorders them (Gibbs-Poole-Stockmeyer)
before it makes the topology; at a million nodes that was 9 of its 23 s (py-spy). Here
the children of a cell follow each other in their parent's order (the coarse mesh is
already reordered), so the topology and geometry are made directly
(``dolfinx.cpp.mesh.create_topology``, ``create_geometry``).

New nodes are the edge midpoints; the 8 children of a tetrahedron are its 4 corner
tetrahedra and the inner octahedron cut along its shortest diagonal (Bey's red
refinement). Global numbering: a coarse vertex keeps its global index, the midpoint of
coarse edge ``e`` is ``num_vertices + e``; the same on every rank and number of ranks.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import dolfinx
import numpy as np
import ufl
from dolfinx import cpp as _cpp
from mpi4py import MPI

__all__ = ["Refined", "refine"]


def _midpoints(d: int) -> dict[tuple[int, int], int]:
    """Point number of the midpoint of each vertex pair (after the d + 1 vertices)."""
    pairs = itertools.combinations(range(d + 1), 2)
    return {p: d + 1 + k for k, p in enumerate(pairs)}


_M3 = _midpoints(3)
_M2 = _midpoints(2)


def _octahedron(a: tuple[int, int], b: tuple[int, int], ring: list) -> list[tuple]:
    """The 4 tetrahedra around the diagonal ``a``-``b`` (midpoints) of the octahedron."""
    return [(_M3[a], _M3[b], _M3[ring[i]], _M3[ring[(i + 1) % 4]]) for i in range(4)]


_CORNERS3 = [
    (0, _M3[0, 1], _M3[0, 2], _M3[0, 3]),
    (_M3[0, 1], 1, _M3[1, 2], _M3[1, 3]),
    (_M3[0, 2], _M3[1, 2], 2, _M3[2, 3]),
    (_M3[0, 3], _M3[1, 3], _M3[2, 3], 3),
]
#: per diagonal (02-13, 01-23, 03-12): the 8 children as point numbers
_CHILDREN3 = np.array(
    [
        _CORNERS3 + _octahedron((0, 2), (1, 3), [(0, 1), (1, 2), (2, 3), (0, 3)]),
        _CORNERS3 + _octahedron((0, 1), (2, 3), [(0, 2), (1, 2), (1, 3), (0, 3)]),
        _CORNERS3 + _octahedron((0, 3), (1, 2), [(0, 1), (0, 2), (2, 3), (1, 3)]),
    ]
)
_DIAGONALS = [((0, 2), (1, 3)), ((0, 1), (2, 3)), ((0, 3), (1, 2))]
_CHILDREN2 = np.array(
    [[(0, _M2[0, 1], _M2[0, 2]), (_M2[0, 1], 1, _M2[1, 2]), (_M2[0, 2], _M2[1, 2], 2),
      (_M2[0, 1], _M2[1, 2], _M2[0, 2])]]
)  # fmt: skip


def _parent_facets(children: np.ndarray, d: int) -> np.ndarray:
    """Per pattern, child and local facet j (opposite its vertex j): the parent's facet
    it lies on (facet f: the one opposite vertex f, which holds every point not made
    from vertex f), or -1 (inside the parent)."""
    table = _M3 if d == 3 else _M2
    made_from = {v: {v} for v in range(d + 1)} | {m: set(p) for p, m in table.items()}
    out = -np.ones((*children.shape[:2], d + 1), dtype=np.int8)
    for pattern, child, j in np.ndindex(*out.shape):
        points = [p for i, p in enumerate(children[pattern, child]) if i != j]
        for f in range(d + 1):
            if all(f not in made_from[p] for p in points):
                out[pattern, child, j] = f
    return out


_PARENT_FACETS = {3: _parent_facets(_CHILDREN3, 3), 2: _parent_facets(_CHILDREN2, 2)}

#: DOLFINx's (basix's) local edges of a triangle and a tetrahedron, as vertex pairs
_EDGES = {2: [(1, 2), (0, 2), (0, 1)], 3: [(2, 3), (1, 3), (1, 2), (0, 3), (0, 2), (0, 1)]}


class Refined(NamedTuple):
    """A refined mesh, per owned fine cell its coarse cell (local index) and, per local
    facet, the coarse cell's local facet it lies on (-1: none)."""

    mesh: dolfinx.mesh.Mesh
    parent_cell: np.ndarray
    parent_facet: np.ndarray


def refine(mesh: dolfinx.mesh.Mesh) -> Refined:
    """Split every cell of a triangle or tetrahedron mesh without ghost cells into 4 / 8
    (see the module's docstring). Collective."""
    top, d = mesh.topology, mesh.topology.dim
    if top.cell_name() not in ("triangle", "tetrahedron") or mesh.geometry.cmaps[0].degree != 1:
        raise ValueError("uniform refinement needs straight triangles or tetrahedra")
    if mesh.comm.allreduce(top.index_map(d).num_ghosts, op=MPI.MAX):
        raise ValueError("uniform refinement needs a mesh without ghost cells")
    points, x_nodes, ids = _points(mesh)
    pattern = _diagonals(points, x_nodes) if d == 3 else np.zeros(len(points), dtype=np.int64)
    children = _CHILDREN3 if d == 3 else _CHILDREN2
    local = np.take_along_axis(points, children[pattern].reshape(len(points), -1), axis=1)
    cells = ids[local].reshape(-1, d + 1)
    fine = _mesh(mesh, cells, ids, x_nodes, _boundary(mesh, ids))
    count = children.shape[1]
    parent_cell, child = _in_cell_order(fine, count)
    parent_facet = _PARENT_FACETS[d][pattern[parent_cell], child]
    return Refined(fine, parent_cell, parent_facet)


def _points(mesh: dolfinx.mesh.Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per coarse cell its points (vertices, then midpoints in ``_M`` order) as local
    point numbers; the points' coordinates; their global ids. Local points are the
    local vertices, then the local edges' midpoints."""
    top, d = mesh.topology, mesh.topology.dim
    top.create_entities(1)
    top.create_connectivity(d, 1)
    top.create_connectivity(1, 0)
    c2v = top.connectivity(d, 0).array.reshape(-1, d + 1)
    c2e = top.connectivity(d, 1).array.reshape(-1, len(_EDGES[d]))
    e2v = top.connectivity(1, 0).array.reshape(-1, 2)
    _check_edges(c2v, c2e, e2v, d)
    vmap, emap = top.index_map(0), top.index_map(1)
    nv = vmap.size_local + vmap.num_ghosts
    ne = emap.size_local + emap.num_ghosts
    ids = np.concatenate(
        [
            vmap.local_to_global(np.arange(nv, dtype=np.int32)),
            emap.local_to_global(np.arange(ne, dtype=np.int32)) + vmap.size_global,
        ]
    )
    node = np.empty(nv, dtype=np.int64)
    node[c2v.ravel()] = mesh.geometry.dofmaps[0].ravel()
    xv = mesh.geometry.x[node]
    x_nodes = np.concatenate([xv, 0.5 * (xv[e2v[:, 0]] + xv[e2v[:, 1]])])
    table = _M3 if d == 3 else _M2
    order = np.argsort([table[e] for e in _EDGES[d]])  # (pairs are sorted)
    points = np.hstack([c2v, nv + c2e[:, order]]).astype(np.int64)
    return points, x_nodes, ids


def _check_edges(c2v: np.ndarray, c2e: np.ndarray, e2v: np.ndarray, d: int) -> None:
    """The cells' local edges join the vertex pairs of ``_EDGES`` (DOLFINx's convention)."""
    ends = np.sort(e2v[c2e], axis=2)
    expected = np.sort(c2v[:, np.array(_EDGES[d])], axis=2)
    if not np.array_equal(ends, expected):
        raise RuntimeError("DOLFINx's local edge numbering is not the one femli assumes")


def _diagonals(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per tetrahedron the pattern whose octahedron diagonal is the shortest."""
    lengths = [
        np.linalg.norm(x[points[:, _M3[a]]] - x[points[:, _M3[b]]], axis=1) for a, b in _DIAGONALS
    ]
    return np.argmin(np.stack(lengths, axis=1), axis=1)


def _boundary(mesh: dolfinx.mesh.Mesh, ids: np.ndarray) -> np.ndarray:
    """Global ids of the fine vertices that other ranks may share: the vertices and
    edge midpoints of the coarse facets between ranks (sorted)."""
    if mesh.comm.size == 1:
        return np.zeros(0, dtype=np.int64)
    top, d = mesh.topology, mesh.topology.dim
    top.create_entities(d - 1)
    top.create_connectivity(d - 1, 0)
    facets = np.asarray(top.interprocess_facets(), dtype=np.int32)
    nv = top.index_map(0).size_local + top.index_map(0).num_ghosts
    vertices = top.connectivity(d - 1, 0).array.reshape(-1, d)[facets]
    if d == 2:  # a facet is an edge
        edges = facets
    else:
        top.create_connectivity(2, 1)
        edges = top.connectivity(2, 1).array.reshape(-1, 3)[facets]
    return np.unique(np.concatenate([ids[vertices.ravel()], ids[nv + edges.ravel()]]))


def _mesh(coarse, cells: np.ndarray, ids: np.ndarray, x: np.ndarray, boundary) -> dolfinx.mesh.Mesh:
    """The mesh of ``cells`` (global point ids) with the points' coordinates ``x``."""
    comm = coarse.comm
    offset = comm.exscan(len(cells)) or 0
    original = np.arange(offset, offset + len(cells), dtype=np.int64)
    cell_type = coarse.topology.cell_type
    topology = _cpp.mesh.create_topology(
        comm, [cell_type], [cells.ravel()], [original], [np.zeros(0, dtype=np.int32)], boundary, 0
    )
    order = np.argsort(ids)
    cmap, gdim = coarse.geometry.cmaps[0]._cpp_object, coarse.geometry.dim
    rows = np.ascontiguousarray(x[order, :gdim]).ravel()  # (create_geometry: gdim per node)
    geometry = _cpp.mesh.create_geometry(topology, [cmap], ids[order], cells.ravel(), rows, gdim)
    kind = _cpp.mesh.Mesh_float32 if rows.dtype == np.float32 else _cpp.mesh.Mesh_float64
    fine = kind(comm, topology, geometry)
    return dolfinx.mesh.Mesh(fine, ufl.Mesh(coarse.ufl_domain().ufl_coordinate_element()))


def _in_cell_order(fine: dolfinx.mesh.Mesh, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per owned fine cell (in the mesh's order) its coarse cell and child number: the
    cells were made as ``count`` children per coarse cell, numbered from this rank's
    offset (``original_cell_index``)."""
    comm, d = fine.comm, fine.topology.dim
    local = fine.topology.index_map(d).size_local
    offset = comm.exscan(local) or 0
    made = np.asarray(fine.topology.original_cell_index[:local], dtype=np.int64) - offset
    ok = bool(np.all((made >= 0) & (made < local)))
    if not comm.allreduce(ok, op=MPI.LAND):
        raise RuntimeError("the refined mesh moved cells between ranks")
    return made // count, made % count
