"""Remeshing a deformed 3D domain (collective): the boundary triangles of every named
region go to rank 0, Gmsh remeshes the shape there
(:func:`femli.geometry.triangulation.build_from_surfaces`, lengths in um), and DOLFINx
distributes the new mesh. Fields are carried over by :func:`femli.growth.remesh.transfer`.
"""

from __future__ import annotations

from collections.abc import Sequence

import dolfinx
import gmsh
import numpy as np

from femli.geometry import gmsh_session
from femli.geometry.triangulation import build_from_surfaces
from femli.mesh import Domain, from_gmsh_model
from femli.parallel import on_root
from femli.units import MESH_UNIT


def oriented_facets(domain: Domain) -> tuple[np.ndarray, np.ndarray]:
    """This rank's owned named boundary triangles as local geometry nodes (m, 3), each
    ordered so that its normal points out of the domain, and their tag values."""
    mesh, tags = domain.mesh, domain.facet_tags
    fdim = domain.dim - 1
    owned = mesh.topology.index_map(fdim).size_local
    keep = (tags.indices < owned) & np.isin(tags.values, list(domain.facet_names.values()))
    facets, values = tags.indices[keep], tags.values[keep]
    if not facets.size:
        return np.zeros((0, 3), dtype=np.int32), values
    nodes = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)
    mesh.topology.create_connectivity(fdim, domain.dim)
    f2c = mesh.topology.connectivity(fdim, domain.dim)
    cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)
    cell_nodes = mesh.geometry.dofmaps[0][cells]
    inside = ~(cell_nodes[:, :, None] == nodes[:, None, :]).any(axis=2)
    opposite = cell_nodes[inside]
    x = mesh.geometry.x
    a, b, c = (x[nodes[:, k]] for k in range(3))
    inward = np.einsum("ij,ij->i", np.cross(b - a, c - a), x[opposite] - a) > 0
    nodes[inward] = nodes[inward][:, [0, 2, 1]]
    return nodes, values


def boundary_surfaces(domain: Domain) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Every named boundary triangle on rank 0: (nodes (n, 3) in um, name -> (m, 3)
    indices into them, outward oriented); None on other ranks. Collective."""
    mesh = domain.mesh
    nodes, values = oriented_facets(domain)
    ids = mesh.geometry.index_map().local_to_global(nodes.ravel().astype(np.int32))
    local = (ids.reshape(nodes.shape), mesh.geometry.x[nodes.ravel()] / MESH_UNIT, values)
    parts = domain.comm.gather(local, root=0)
    if domain.comm.rank != 0:
        return None
    ids = np.concatenate([p[0] for p in parts])
    coords = np.concatenate([p[1] for p in parts])
    values = np.concatenate([p[2] for p in parts])
    _, first, inverse = np.unique(ids.ravel(), return_index=True, return_inverse=True)
    points = coords[first]
    triangles = inverse.reshape(ids.shape)
    names = {v: k for k, v in domain.facet_names.items()}
    return points, {names[v]: triangles[values == v] for v in np.unique(values)}


def remesh_domain_3d(
    domain: Domain, moving: Sequence[str], h_moving: float, h_far: float
) -> Domain:
    """A fresh mesh of ``domain``'s present 3D shape with the same enclosed volume
    (sizes in um). Collective; Gmsh runs on rank 0."""
    surfaces = boundary_surfaces(domain)
    volume = domain.measure(boundary=False) / MESH_UNIT**3
    cell_name = next(iter(domain.cell_names), "electrolyte")
    with gmsh_session():  # Gmsh on rank 0; its error raised on every rank
        on_root(
            domain.comm,
            lambda: build_from_surfaces(
                *surfaces, moving, cell_name, h_moving, h_far, volume=volume
            ),
        )
        return from_gmsh_model(gmsh.model, domain.comm, 3)
