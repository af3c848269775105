"""Remeshing a deformed domain and carrying the fields over (collective).

2D: the boundary of the present mesh is gathered on rank 0 as closed loops of named
polylines and Gmsh meshes it afresh (:func:`femli.geometry.loops.build_from_loops`);
3D: :mod:`femli.growth.remesh3d`. DOLFINx distributes the new mesh, and fields are
interpolated from the old mesh (non-matching interpolation). Boundary names that the new
shape no longer has (covered by a merged deposit) stay known as empty regions. Lengths
handed to Gmsh are in um.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import dolfinx
import gmsh
import numpy as np

from femli.geometry import gmsh_session
from femli.geometry.loops import Polyline, build_from_loops, signed_area
from femli.growth.remesh3d import remesh_domain_3d
from femli.mesh import Domain, from_gmsh_model
from femli.parallel import on_root
from femli.units import MESH_UNIT


def edge_lengths(domain: Domain, *names: str) -> np.ndarray:
    """Lengths (um) of the edges of this rank's owned facets on the named boundaries."""
    mesh, fdim = domain.mesh, domain.dim - 1
    facets = domain.facets(*names)
    facets = facets[facets < mesh.topology.index_map(fdim).size_local]
    nodes = mesh.geometry.x[dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)]
    pairs = [(a, b) for a in range(fdim + 1) for b in range(a + 1, fdim + 1)]
    lengths = [np.linalg.norm(nodes[:, b] - nodes[:, a], axis=1) for a, b in pairs]
    return np.concatenate(lengths) / MESH_UNIT


def boundary_edges(domain: Domain) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Every tagged exterior edge on rank 0 as (p0, p1, name), points in um. Collective."""
    mesh, tags = domain.mesh, domain.facet_tags
    names = {v: k for k, v in domain.facet_names.items()}
    owned = mesh.topology.index_map(1).size_local
    keep = (tags.indices < owned) & np.isin(tags.values, list(names))
    facets, values = tags.indices[keep], tags.values[keep]
    nodes = dolfinx.mesh.entities_to_geometry(mesh, 1, facets)
    points = mesh.geometry.x[nodes][:, :, :2] / MESH_UNIT
    local = [(p[0], p[1], names[v]) for p, v in zip(points, values, strict=True)]
    gathered = domain.comm.gather(local, root=0)
    return [e for part in gathered for e in part] if domain.comm.rank == 0 else []


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


def remesh_domain(domain: Domain, moving: list[str], h_moving: float, h_far: float) -> Domain:
    """A fresh mesh of ``domain``'s present shape (sizes in um). Collective."""
    if domain.dim == 3:
        return keep_names(remesh_domain_3d(domain, moving, h_moving, h_far), domain)
    edges = boundary_edges(domain)
    cell_name = next(iter(domain.cell_names), "electrolyte")
    with gmsh_session():  # Gmsh on rank 0; its error raised on every rank
        on_root(
            domain.comm,
            lambda: build_from_loops(boundary_loops(edges), moving, cell_name, h_moving, h_far),
        )
        return keep_names(from_gmsh_model(gmsh.model, domain.comm, 2), domain)


def keep_names(new: Domain, old: Domain) -> Domain:
    """Give ``new`` every boundary name of ``old`` it lacks (:func:`add_empty_regions`,
    tag values above both meshes' own)."""
    return add_empty_regions(new, old.facet_names, max([*old.facet_names.values(), 0]))


def add_empty_regions(domain: Domain, names: Iterable[str], floor: int = 0) -> Domain:
    """Give ``domain`` each boundary name in ``names`` it lacks, as an empty region (a tag
    value above ``floor`` and its own that no facet carries), so conditions naming it
    integrate to zero."""
    free = max([*domain.facet_names.values(), floor]) + 1
    for name in names:
        if name not in domain.facet_names:
            domain.facet_names[name] = free
            free += 1
    return domain


def transfer(source: dolfinx.fem.Function, target: dolfinx.fem.Function) -> None:
    """Interpolate ``source`` (old mesh) into ``target`` (new mesh). Collective."""
    mesh = target.function_space.mesh
    cells = np.arange(mesh.topology.index_map(mesh.topology.dim).size_local, dtype=np.int32)
    data = dolfinx.fem.create_interpolation_data(
        target.function_space, source.function_space, cells, padding=1e-8
    )
    target.interpolate_nonmatching(source, cells, data)
    target.x.scatter_forward()
