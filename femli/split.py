"""Fine meshes made in parallel: a coarse Gmsh mesh, distributed, then every cell split
``levels`` times on all ranks (:mod:`femli.refine`), with the new boundary nodes put back on the
exact (CAD) surfaces. Lengths in um (the mesh is split before it is scaled to metres).

Why: at a million nodes the mesh stage (Gmsh's volume mesh and DOLFINx's reading of it,
both on rank 0) took longer than the solve, and a second rank could not help. A mesh
built at twice the element size has 8x fewer tetrahedra (4x fewer triangles); one uniform
split restores the size field's element sizes everywhere,
and runs on every rank. The split puts a new node at the midpoint of each edge, which on
a curved boundary lies on the chord, inside the surface by ``L^2 / (8 R)``; every
boundary node is therefore moved to the nearest point of the Gmsh entity it belongs to
(:func:`snap`), so the discrete surface interpolates the exact one as a direct fine mesh
does. Plane faces and straight edges need no move; discrete (triangulated) surfaces are
left as they are (their chords are exact).

The Gmsh model must still be open on rank 0 (projections use its OCC entities); the
split mesh carries the cell and facet tags of the coarse one (parents' values).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import dolfinx
import numpy as np
from scipy.spatial import cKDTree

from femli.refine import refine

__all__ = ["Projector", "snap", "split"]

log = logging.getLogger(__name__)

#: entity types whose midpoints already lie on them (no projection needed)
_FLAT = {"Plane", "Line"}


class Projector(Protocol):
    """Puts boundary nodes on the surface they belong to (rank 0, lengths in um); made
    from the physical tags in the order of the nodes' mask bits."""

    def has_curved(self, tag: int) -> bool:
        """Whether a group's chords can leave it (its nodes need projecting)."""
        ...

    def project(self, points: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """``points`` (n, 3) on their groups (bit k of ``masks``: the k-th tag)."""
        ...


#: Makes a :class:`Projector` from the tags of the mask bits (rank 0).
ProjectorFactory = Callable[[list[int]], Projector]


def split(
    mesh: dolfinx.mesh.Mesh,
    cell_tags: dolfinx.mesh.MeshTags | None,
    facet_tags: dolfinx.mesh.MeshTags | None,
    facet_groups: Mapping[str, int],
    levels: int,
    projector: ProjectorFactory | None = None,
) -> tuple[
    dolfinx.mesh.Mesh, dolfinx.mesh.MeshTags | None, dolfinx.mesh.MeshTags | None, np.ndarray
]:
    """Split every cell ``levels`` times (in parallel), transfer the tags, and snap the
    boundary nodes of the named facet groups (physical tag per name) onto the open Gmsh
    model's entities (or where ``projector``, needed on rank 0 only, puts them) after each
    split. Returns the fine mesh, its tags and, per owned fine cell, its local cell of the
    given mesh. Collective; lengths in um."""
    tdim = mesh.topology.dim
    parents = np.arange(mesh.topology.index_map(tdim).size_local)
    for level in range(levels):
        clock = time.perf_counter()
        mesh.topology.create_connectivity(tdim, tdim - 1)  # (the tags' parent facets)
        fine, parent_cell, parent_facet = refine(mesh)
        fine.topology.create_connectivity(tdim - 1, tdim)
        fine.topology.create_connectivity(tdim, tdim - 1)
        parents = parents[parent_cell]
        times = [time.perf_counter() - clock]
        if facet_tags is not None:
            facet_tags = _facet_tags(facet_tags, mesh, fine, parent_cell, parent_facet)
        if cell_tags is not None:
            cell_tags = _cell_tags(cell_tags, mesh, fine, parent_cell)
        mesh = fine
        times.append(time.perf_counter() - clock - sum(times))
        moved = snap(mesh, facet_tags, facet_groups, projector) if facet_tags is not None else 0
        times.append(time.perf_counter() - clock - sum(times))
        log.debug(
            "split %d: %d cells; refine %.2f s, tags %.2f s, %d boundary nodes snapped %.2f s",
            level + 1,
            mesh.topology.index_map(tdim).size_global,
            *times[:2],
            moved,
            times[2],
        )
    return mesh, cell_tags, facet_tags, parents


def _dense(tags: dolfinx.mesh.MeshTags, count: int) -> np.ndarray:
    values = np.zeros(count, dtype=np.int32)
    values[tags.indices] = tags.values
    return values


def _with_ghosts(index_map, owned: np.ndarray) -> np.ndarray:
    """Values of the owned entities extended to the ghosts (from their owners)."""
    vector = dolfinx.la.vector(index_map, 1, dtype=np.float64)
    vector.array[: index_map.size_local] = owned[: index_map.size_local]
    vector.scatter_forward()
    return np.rint(vector.array).astype(np.int32)


def _tags(fine, dim: int, values: np.ndarray) -> dolfinx.mesh.MeshTags:
    keep = np.flatnonzero(values != 0).astype(np.int32)
    return dolfinx.mesh.meshtags(fine, dim, keep, values[keep])


def _cell_tags(tags, coarse, fine, parent_cell: np.ndarray) -> dolfinx.mesh.MeshTags:
    """Each child cell gets its parent's value (0: untagged; neither mesh has ghost
    cells)."""
    tdim = coarse.topology.dim
    cmap = coarse.topology.index_map(tdim)
    return _tags(fine, tdim, _dense(tags, cmap.size_local + cmap.num_ghosts)[parent_cell])


def _facet_tags(tags, coarse, fine, parent_cell, parent_facet) -> dolfinx.mesh.MeshTags:
    """Each child facet on a tagged parent facet gets the parent's value (from a local
    cell holding it; the owner's value reaches the ghosts). Local facet j of a simplex is
    the one opposite its vertex j, in both meshes."""
    tdim = coarse.topology.dim
    cmap = coarse.topology.index_map(tdim - 1)
    dense = _dense(tags, cmap.size_local + cmap.num_ghosts)
    coarse_c_to_f = coarse.topology.connectivity(tdim, tdim - 1).array.reshape(-1, tdim + 1)
    near = np.flatnonzero((dense[coarse_c_to_f] != 0).any(axis=1)[parent_cell])
    rows, local = np.nonzero(parent_facet[near] >= 0)
    cells = near[rows]
    value = dense[coarse_c_to_f[parent_cell[cells], parent_facet[cells, local]]]
    c_to_f = fine.topology.connectivity(tdim, tdim - 1).array.reshape(-1, tdim + 1)
    fmap = fine.topology.index_map(tdim - 1)
    values = np.zeros(fmap.size_local + fmap.num_ghosts, dtype=np.int32)
    values[c_to_f[cells, local]] = value
    return _tags(fine, tdim - 1, _with_ghosts(fmap, values))


def snap(
    mesh: dolfinx.mesh.Mesh,
    facet_tags: dolfinx.mesh.MeshTags,
    groups: Mapping[str, int],
    projector: ProjectorFactory | None = None,
) -> int:
    """Move every node of a tagged boundary facet onto the nearest point of its Gmsh
    entity (a node on facets of two groups: onto their common curve), or where
    ``projector`` (rank 0) puts it. Returns the number of nodes moved (all ranks).
    Collective; Gmsh on rank 0 unless ``projector`` is given."""
    comm = mesh.comm
    tags = sorted(set(groups.values()))
    coords, masks = _boundary_nodes(mesh, facet_tags, tags)
    gathered = comm.gather((coords, masks), root=0)
    moved = None
    if comm.rank == 0:
        assert gathered is not None
        moved = _project_on_root(gathered, tags, projector or _Projector)
    old, new = comm.bcast(moved, root=0)
    if len(old):
        x = mesh.geometry.x
        dist, idx = cKDTree(old).query(x, distance_upper_bound=_match_tolerance(old))
        hit = np.isfinite(dist)
        x[hit] = new[idx[hit]]
    return len(old)


def _boundary_nodes(
    mesh: dolfinx.mesh.Mesh, facet_tags: dolfinx.mesh.MeshTags, tags: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the local geometry nodes on tagged facets and, per node, a bit mask
    of its facets' groups (bit k: ``tags[k]``). Rank-local."""
    fdim = mesh.topology.dim - 1
    known = np.isin(facet_tags.values, tags)
    if not known.any():  # (entities_to_geometry fails on an empty list)
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    nodes = dolfinx.mesh.entities_to_geometry(mesh, fdim, facet_tags.indices[known])
    bits = np.left_shift(1, np.searchsorted(tags, facet_tags.values[known])).astype(np.int64)
    mask = np.zeros(mesh.geometry.x.shape[0], dtype=np.int64)
    np.bitwise_or.at(mask, nodes.ravel(), np.repeat(bits, nodes.shape[1]))
    on = np.flatnonzero(mask)
    return mesh.geometry.x[on].copy(), mask[on]


def _match_tolerance(points: np.ndarray) -> float:
    """A distance far below any edge yet above round-off (um)."""
    extent = float(np.ptp(points, axis=0).max()) if len(points) else 1.0
    return 1e-9 * max(extent, 1.0)


def _project_on_root(
    gathered: list, tags: list[int], make: ProjectorFactory
) -> tuple[np.ndarray, np.ndarray]:
    """(old, new) coordinates of the nodes that move (rank 0; Gmsh)."""
    coords = np.concatenate([c for c, _ in gathered])
    masks = np.concatenate([m for _, m in gathered])
    none = (np.zeros((0, 3)), np.zeros((0, 3)))
    if len(coords) == 0:
        return none
    # one record per node (copies on several ranks): the union of their groups
    key = np.round(coords / _match_tolerance(coords)).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    merged = np.zeros(len(first), dtype=np.int64)
    np.bitwise_or.at(merged, inverse.ravel(), masks)
    points = coords[first]
    projector = make(tags)
    curved = sum(1 << k for k, t in enumerate(tags) if projector.has_curved(t))
    todo = np.flatnonzero(merged & curved)
    if todo.size == 0:
        return none
    new = projector.project(points[todo], merged[todo])
    move = np.linalg.norm(new - points[todo], axis=1) > 0
    return points[todo][move], new[move]


class _Projector:
    """Nearest points on the entities of Gmsh physical groups, many points per call
    (rank 0; Gmsh open; lengths in um)."""

    def __init__(self, tags: list[int]) -> None:
        import gmsh

        self.gmsh = gmsh
        self.tags = tags
        self.dim = gmsh.model.getDimension() - 1
        self.entities = {
            t: [int(e) for e in gmsh.model.getEntitiesForPhysicalGroup(self.dim, t)] for t in tags
        }
        discrete = {"Discrete surface", "Discrete curve"}
        every = {e for ents in self.entities.values() for e in ents}
        self.curved = {e for e in every if gmsh.model.getType(self.dim, e) not in _FLAT | discrete}
        self.boxes = {e: np.reshape(gmsh.model.getBoundingBox(self.dim, e), (2, 3)) for e in every}

    def has_curved(self, tag: int) -> bool:
        """Whether physical group ``tag`` has an entity whose chords leave it."""
        return any(e in self.curved for e in self.entities.get(tag, []))

    def project(self, points: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """``points`` (n x 3) on their entities: per node the nearest entity of each of
        its groups (bit k of ``masks``: ``tags[k]``); one curved entity: its nearest
        point; several entities: the nearest point of a curve they share; else as is."""
        found = [self._nearest(points, masks, k) for k in range(len(self.tags))]
        ents = np.stack([e for e, _ in found], axis=1)  # entity per node and group, -1: none
        near = np.stack([q for _, q in found], axis=1)  # its nearest point
        by_entities: dict[tuple[int, ...], list[int]] = {}
        for i, row in enumerate(ents):
            key = tuple(sorted(set(row[row >= 0].tolist())))
            if key:
                by_entities.setdefault(key, []).append(i)
        new = points.copy()
        for key, members in by_entities.items():
            rows = np.asarray(members)
            if len(key) == 1:  # the point its group's search found
                new[rows] = near[rows, np.argmax(ents[rows] == key[0], axis=1)]
            elif any(e in self.curved for e in key):
                new[rows] = self._on_curves(self._common_curves(list(key)), points[rows])
        return new

    def _nearest(self, points: np.ndarray, masks: np.ndarray, k: int) -> tuple:
        """(entity, nearest point) per node of group ``tags[k]`` (-1 / the node if not)."""
        ents = np.full(len(points), -1)
        best, near = np.full(len(points), np.inf), points.copy()
        inside = np.flatnonzero(masks >> k & 1)
        for e in self.entities[self.tags[k]]:
            lo, hi = self.boxes[e]
            pad = 1e-6 + 1e-3 * float((hi - lo).max())
            box = np.all((points[inside] >= lo - pad) & (points[inside] <= hi + pad), axis=1)
            rows = inside[box]
            if rows.size == 0:
                continue
            q = self._closest(self.dim, e, points[rows])
            d = np.linalg.norm(q - points[rows], axis=1)
            better = d < best[rows]
            best[rows[better]], near[rows[better]] = d[better], q[better]
            ents[rows[better]] = e
        return ents, near

    def _closest(self, dim: int, tag: int, points: np.ndarray) -> np.ndarray:
        if dim < 1 or self.gmsh.model.getType(dim, tag) in _FLAT:
            return points.copy()
        q, _ = self.gmsh.model.getClosestPoint(dim, tag, points.ravel().tolist())
        return np.reshape(np.asarray(q, dtype=float), (-1, 3))

    def _on_curves(self, curves: list[int], points: np.ndarray) -> np.ndarray:
        """The nearest point of any of ``curves`` (the points as they are if none)."""
        if not curves:
            return points.copy()
        options = np.stack([self._closest(self.dim - 1, c, points) for c in curves])
        pick = np.linalg.norm(options - points, axis=2).argmin(axis=0)
        return options[pick, np.arange(len(points))]

    def _common_curves(self, ents: list[int]) -> list[int]:
        bounds = [
            {abs(t) for _, t in self.gmsh.model.getBoundary([(self.dim, e)], oriented=False)}
            for e in ents
        ]
        return sorted(set.intersection(*bounds))
