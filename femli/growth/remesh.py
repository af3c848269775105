"""Remeshing a deformed domain and carrying the fields over (collective).

:func:`remesh_domain` is the one entry, for both dimensions. 2D: the boundary of the
present mesh is gathered on rank 0 as closed loops of named polylines and Gmsh meshes
it afresh (:func:`femli.geometry.loops.build_from_loops`); 3D: the boundary triangles
of every named region go to rank 0 and Gmsh remeshes the shape with the same enclosed
volume (:func:`femli.geometry.triangulation.build_from_surfaces`). DOLFINx distributes
the new mesh; the growth solver carries the fields over
(:func:`femli.growth.transfer.transfer`). Boundary names that the new shape no longer has
(covered by a merged deposit) stay known as empty regions
(:meth:`femli.mesh.Domain.keep_names`). Lengths handed to Gmsh are in um.

A 3D remesh is built coarse and split in parallel (:data:`SPLIT`): Gmsh meshes the shape
at twice the element sizes (8x fewer tetrahedra, over the same grading distances), DOLFINx
distributes that, every rank splits its cells once (:func:`femli.split.split`) and the new
boundary nodes are put back on the old boundary triangles
(:class:`femli.geometry.closest.SurfaceProjector`). At 100 k nodes that took 3.6 s where
meshing directly took 12.7 s, with a better worst cell (0.43 vs 0.41). The enclosed volume
is then that of the old surface up to the chords of its kinks, not restored exactly: the
growth solver owes the difference to the next step (:meth:`GrowthSolver.remesh`). When
the coarse surfaces cannot be reparametrised, the shape is meshed directly.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

import dolfinx
import gmsh
import numpy as np

from femli.geometry import gmsh_session
from femli.geometry.closest import SurfaceProjector
from femli.geometry.core import GeometryError, RemeshSizing
from femli.geometry.loops import Polyline, build_from_loops, signed_area
from femli.geometry.triangulation import build_from_surfaces
from femli.mesh import Domain, from_gmsh_model
from femli.parallel import on_root
from femli.units import MESH_UNIT

__all__ = [
    "boundary_edges",
    "boundary_loops",
    "boundary_surfaces",
    "edge_lengths",
    "kept_sizes",
    "oriented_facets",
    "remesh_domain",
]

log = logging.getLogger(__name__)

#: A 3D remesh meshes at this factor times the element sizes, then splits every cell once.
SPLIT = 2.0

#: A boundary that does not move keeps its own element size at a remesh when that is
#: finer than this share of the far size (else the far size meets it anyway).
KEEP_BELOW = 0.8


def _facet_tags(domain: Domain) -> dolfinx.mesh.MeshTags:
    """The domain's boundary tags (a remeshed shape is made of its named boundaries)."""
    tags = domain.facet_tags
    assert tags is not None  # a growth domain has named boundaries
    return tags


def edge_lengths(domain: Domain, *names: str) -> np.ndarray:
    """Lengths (um) of the edges of this rank's owned facets on the named boundaries."""
    mesh, fdim = domain.mesh, domain.dim - 1
    facets = domain.facets(*names)
    facets = facets[facets < mesh.topology.index_map(fdim).size_local]
    nodes = mesh.geometry.x[dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)]
    pairs = [(a, b) for a in range(fdim + 1) for b in range(a + 1, fdim + 1)]
    lengths = [np.linalg.norm(nodes[:, b] - nodes[:, a], axis=1) for a, b in pairs]
    return np.concatenate(lengths) / MESH_UNIT


def kept_sizes(domain: Domain, moving: Sequence[str], h_far: float) -> dict[str, float]:
    """Element sizes (um) a remesh keeps on the named boundaries that do not move: each
    one's 90th-percentile edge length, the size its builder gave it where no finer
    feature is near (finer edges near other features come back with those features'
    fields; a remesh sized by the moving boundaries alone made a 100 k-node nucleus array
    into 31 k nodes, its substrate 3x coarser), for those finer than :data:`KEEP_BELOW`
    ``h_far``. Collective."""
    kept = {}
    for name in domain.facet_names:
        if name in moving:
            continue
        lengths = np.concatenate(domain.comm.allgather(edge_lengths(domain, name)))
        size = float(np.percentile(lengths, 90)) if lengths.size else h_far
        if size < KEEP_BELOW * h_far:
            kept[name] = size
    return kept


def boundary_edges(domain: Domain) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Every tagged exterior edge on rank 0 as (p0, p1, name), points in um. Collective."""
    mesh, tags = domain.mesh, _facet_tags(domain)
    names = {v: k for k, v in domain.facet_names.items()}
    owned = mesh.topology.index_map(1).size_local
    keep = (tags.indices < owned) & np.isin(tags.values, list(names))
    facets, values = tags.indices[keep], tags.values[keep]
    nodes = dolfinx.mesh.entities_to_geometry(mesh, 1, facets)
    points = mesh.geometry.x[nodes][:, :, :2] / MESH_UNIT
    local = [(p[0], p[1], names[v]) for p, v in zip(points, values, strict=True)]
    gathered = domain.comm.gather(local, root=0)
    return [e for part in gathered for e in part] if gathered is not None else []  # rank 0


def _key(p: np.ndarray) -> tuple[int, int]:
    return (round(float(p[0]) * 1e7), round(float(p[1]) * 1e7))


def boundary_loops(edges: list[tuple[np.ndarray, np.ndarray, str]]) -> list[list[Polyline]]:
    """Chain edges into closed loops split into runs of one name; the outer loop first."""
    adjacency: dict = defaultdict(list)
    coords = {}
    for k, (a, b, _) in enumerate(edges):
        for p in (a, b):
            coords[_key(p)] = p
        adjacency[_key(a)].append(k)
        adjacency[_key(b)].append(k)
    used = np.zeros(len(edges), dtype=bool)
    loops = []
    for start in range(len(edges)):
        if not used[start]:
            loops.append(_walk(edges, adjacency, coords, used, start))
    loops.sort(key=lambda loop: -abs(signed_area(np.concatenate([x.points for x in loop]))))
    return loops


def _walk(edges, adjacency, coords, used, start) -> list[Polyline]:
    a, b, _ = edges[start]
    order, node, k = [start], _key(b), start
    used[start] = True
    while node != _key(a):
        k = next(j for j in adjacency[node] if not used[j])
        used[k] = True
        order.append(k)
        p, q, _ = edges[k]
        node = _key(q) if _key(p) == node else _key(p)
    points, names, node = [coords[_key(a)]], [], _key(a)
    for k in order:
        p, q, name = edges[k]
        node = _key(q) if _key(p) == node else _key(p)
        points.append(coords[node])
        names.append(name)
    return _runs(points, names)


def _runs(points: list, names: list[str]) -> list[Polyline]:
    """Split a closed point loop into runs of equal names, starting at a name change."""
    n = len(names)
    shift = next((k for k in range(n) if names[k] != names[k - 1]), 0)
    names = names[shift:] + names[:shift]
    pts = points[shift:-1] + points[:shift] + [points[shift]]
    runs, begin = [], 0
    for k in range(1, n + 1):
        if k == n or names[k] != names[begin]:
            runs.append(Polyline(names[begin], np.array(pts[begin : k + 1])))
            begin = k
    return runs


def remesh_domain(
    domain: Domain,
    moving: Sequence[str],
    h_moving: float,
    h_far: float,
    sizing: RemeshSizing | None = None,
) -> Domain:
    """A fresh mesh of ``domain``'s present shape, 2D or 3D (element sizes in um: the
    boundaries ``sizing`` keeps at their own, see :func:`kept_sizes`), with every boundary name of
    ``domain`` (those the new shape lacks as empty regions). Collective; Gmsh runs on
    rank 0 and its error is raised on every rank."""
    if domain.dim == 3:
        try:
            return _split_remesh(domain, moving, h_moving, h_far, sizing)
        except GeometryError as err:  # raised on every rank alike
            log.info("coarse remesh failed (%s): meshing at full resolution", err)
    build = _builder(domain, moving, h_moving, h_far, sizing)
    with gmsh_session():
        on_root(domain.comm, build)
        new = from_gmsh_model(gmsh.model, domain.comm, domain.dim)
    return new.keep_names(domain)


def _split_remesh(
    domain: Domain,
    moving: Sequence[str],
    h_moving: float,
    h_far: float,
    sizing: RemeshSizing | None,
) -> Domain:
    """:func:`remesh_domain` in 3D, built at :data:`SPLIT` times the sizes and split once,
    the new boundary nodes put on the old boundary triangles. Collective.

    Raises:
        GeometryError: on every rank, when Gmsh could not reparametrise the surfaces.
    """
    sizing = sizing or RemeshSizing()
    coarse = RemeshSizing(
        {name: SPLIT * h for name, h in sizing.kept.items()}, sizing.refinement / SPLIT
    )
    surfaces = boundary_surfaces(domain)
    cell_name = next(iter(domain.cell_names), "electrolyte")

    def build() -> dict[str, int]:
        assert surfaces is not None  # gathered on rank 0, where this runs
        nodes, triangles = surfaces
        h = (SPLIT * h_moving, SPLIT * h_far)
        return build_from_surfaces(
            nodes, triangles, moving, cell_name, *h, sizing=coarse, keep_triangles=False
        )

    with gmsh_session():
        groups = on_root(domain.comm, build)
        projector = None
        if surfaces is not None and groups is not None:
            projector = functools.partial(SurfaceProjector, *surfaces, groups)
        new = from_gmsh_model(gmsh.model, domain.comm, 3, split_levels=1, projector=projector)
    new.coarse = None  # (kept for initial guesses of a fresh run; a remesh has the fields)
    return new.keep_names(domain)


def _builder(
    domain: Domain,
    moving: Sequence[str],
    h_moving: float,
    h_far: float,
    sizing: RemeshSizing | None,
) -> Callable[[], object]:
    """What rank 0 runs to mesh ``domain``'s shape in Gmsh: from its boundary loops (2D)
    or triangles (3D, same enclosed volume), gathered here. Collective."""
    cell_name = next(iter(domain.cell_names), "electrolyte")
    if domain.dim == 3:
        surfaces = boundary_surfaces(domain)
        volume = domain.measure(boundary=False) / MESH_UNIT**3  # um^3

        def build() -> dict[str, int]:
            assert surfaces is not None  # gathered on rank 0, where this runs
            nodes, triangles = surfaces
            return build_from_surfaces(
                nodes, triangles, moving, cell_name, h_moving, h_far, volume=volume, sizing=sizing
            )

        return build
    edges = boundary_edges(domain)
    return lambda: build_from_loops(
        boundary_loops(edges), moving, cell_name, h_moving, h_far, sizing
    )


def oriented_facets(domain: Domain) -> tuple[np.ndarray, np.ndarray]:
    """This rank's owned named boundary facets as local geometry nodes (m, dim), each
    ordered so that its normal (3D: (b - a) x (c - a); 2D: (b - a) turned clockwise)
    points out of the domain, and their tag values."""
    mesh, tags = domain.mesh, _facet_tags(domain)
    fdim = domain.dim - 1
    owned = mesh.topology.index_map(fdim).size_local
    keep = (tags.indices < owned) & np.isin(tags.values, list(domain.facet_names.values()))
    facets, values = tags.indices[keep], tags.values[keep]
    if not facets.size:
        return np.zeros((0, domain.dim), dtype=np.int32), values
    nodes = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)
    mesh.topology.create_connectivity(fdim, domain.dim)
    f2c = mesh.topology.connectivity(fdim, domain.dim)
    cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)
    cell_nodes = mesh.geometry.dofmaps[0][cells]
    inside = ~(cell_nodes[:, :, None] == nodes[:, None, :]).any(axis=2)
    opposite = cell_nodes[inside]
    x = mesh.geometry.x
    a, b = x[nodes[:, 0]], x[nodes[:, 1]]
    if domain.dim == 3:
        normal = np.cross(b - a, x[nodes[:, 2]] - a)
    else:
        normal = np.column_stack([(b - a)[:, 1], -(b - a)[:, 0], np.zeros(len(a))])
    inward = np.einsum("ij,ij->i", normal, x[opposite] - a) > 0
    nodes[inward] = nodes[inward][:, ::-1]
    return nodes, values


def boundary_surfaces(domain: Domain) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Every named boundary triangle on rank 0: (nodes (n, 3) in um, name -> (m, 3)
    indices into them, outward oriented); None on other ranks. Collective."""
    mesh = domain.mesh
    nodes, values = oriented_facets(domain)
    ids = mesh.geometry.index_map().local_to_global(nodes.ravel().astype(np.int32))
    local = (ids.reshape(nodes.shape), mesh.geometry.x[nodes.ravel()] / MESH_UNIT, values)
    parts = domain.comm.gather(local, root=0)
    if parts is None:  # not rank 0
        return None
    ids = np.concatenate([p[0] for p in parts])
    coords = np.concatenate([p[1] for p in parts])
    values = np.concatenate([p[2] for p in parts])
    _, first, inverse = np.unique(ids.ravel(), return_index=True, return_inverse=True)
    points = coords[first]
    triangles = inverse.reshape(ids.shape)
    names = {v: k for k, v in domain.facet_names.items()}
    return points, {names[v]: triangles[values == v] for v in np.unique(values)}
