"""Electrode surfaces: one boundary mesh per electrode with its nodal fields.

:func:`electrode_surfaces` gathers, on rank 0, a ``pyvista.PolyData`` per electrode
(triangles in 3D, line segments in 2D, vertices in 1D; coordinates in um) with point data

- ``deposition_current_density (mA/cm2)``: the normal current density with the sign
  that makes deposition positive (the solver's anodic-positive ``i_loc`` times -1); the
  same nodal values the metrics are computed from;
- ``overpotential (V)``: the surface overpotential ``E_s - phi - E_eq``;
- ``c_<reacting ion> (mol/m3)``: the concentration of the reacting ion;
- ``normal_velocity (um/s)`` (growth runs): the growth rate along the normal, positive
  for deposition (growth into the electrolyte);

cell data ``boundary`` (the index of each facet's boundary in the field data
``boundaries``; ``axisymmetric`` in r-z runs), and triangles oriented with their normals
into the electrolyte.
The points are the global P1 nodes (each once), so files from serial and MPI runs agree.
"""

from __future__ import annotations

import dolfinx
import numpy as np

from femli.outputs.quantities import (
    AXISYMMETRIC,
    DEPOSITION,
    OVERPOTENTIAL,
    SIGN_CONVENTION,
    VELOCITY,
    concentration_name,
    ma_cm2,
    p1_values,
)
from femli.outputs.vtkfiles import describe
from femli.parallel import gather
from femli.units import to_um

__all__ = [
    "electrode_surfaces",
    "node_weights",
]


def _vertex_to_dof(space) -> np.ndarray:
    """Local vertex index -> local P1 dof index (every local vertex)."""
    mesh = space.mesh
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim, 0)
    c2v = mesh.topology.connectivity(tdim, 0)
    per_cell = int(c2v.offsets[1])
    layout = [space.dofmap.dof_layout.entity_dofs(0, i)[0] for i in range(per_cell)]
    vertices = c2v.array.reshape(-1, per_cell)
    vmap = mesh.topology.index_map(0)
    out = np.full(vmap.size_local + vmap.num_ghosts, -1, dtype=np.int64)
    out[vertices] = space.dofmap.list[: len(vertices)][:, layout]
    return out


def _owned_facets(domain, electrode) -> tuple[np.ndarray, np.ndarray]:
    """This rank's owned facets of ``electrode`` and the index of each one's boundary."""
    fdim = domain.dim - 1
    size = domain.mesh.topology.index_map(fdim).size_local
    facets, which = [], []
    for k, boundary in enumerate(electrode.boundaries):
        f = domain.facets(boundary)
        f = np.unique(f[f < size])
        facets.append(f)
        which.append(np.full(f.size, k, dtype=np.int32))
    return np.concatenate(facets), np.concatenate(which)


def _local_values(model, currents, electrode, velocity) -> dict[str, np.ndarray]:
    """Nodal arrays (every local dof, ghosts filled from their owners) of one electrode."""
    space = model.space
    surface = currents.nodal(electrode)  # owned nodes: the values the metrics use
    arrays = {
        DEPOSITION: ma_cm2(-surface.values),
        OVERPOTENTIAL: surface.overpotential,
    }
    dofs = currents.owned_dofs(electrode)  # the order of ``surface``'s arrays
    out = {}
    for name, values in arrays.items():
        f = dolfinx.fem.Function(space)
        f.x.array[dofs] = values
        f.x.scatter_forward()
        out[name] = f.x.array.copy()
    reacting = model.electrolyte.reacting
    out[concentration_name(reacting)] = p1_values(model.concentration(reacting), space)
    if velocity is not None:
        out[VELOCITY] = to_um(np.asarray(velocity, dtype=float))
    return out


def _orient(points: np.ndarray, facets: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Triangles (rows of point indices) ordered so their normals point away from
    ``inside`` (each facet's electrolyte-cell centre): into the electrolyte."""
    if facets.shape[1] != 3:
        return facets
    a, b, c = (points[facets[:, k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    centre = (a + b + c) / 3.0
    flip = np.einsum("ij,ij->i", normal, centre - inside) > 0  # pointing into the metal
    facets = facets.copy()
    facets[flip, 1], facets[flip, 2] = facets[flip, 2], facets[flip, 1].copy()
    return facets


def _part(model, currents, electrode, velocity) -> tuple:
    """This rank's piece of one electrode surface: (facets as global dofs, facet
    boundary index, electrolyte cell centres, global dofs, their coordinates, values)."""
    domain, space = model.domain, model.space
    fdim, tdim = domain.dim - 1, domain.dim
    values = _local_values(model, currents, electrode, velocity)
    facets, which = _owned_facets(domain, electrode)
    topology = domain.mesh.topology
    topology.create_connectivity(fdim, 0)
    topology.create_connectivity(fdim, tdim)
    f2v, f2c = topology.connectivity(fdim, 0), topology.connectivity(fdim, tdim)
    v2d = _vertex_to_dof(space)
    corners = f2v.array.reshape(-1, fdim + 1)  # every facet has fdim + 1 vertices
    local = v2d[corners[facets]].reshape(len(facets), fdim + 1)
    x = space.tabulate_dof_coordinates()
    cells = f2c.array[f2c.offsets[facets]]  # a boundary facet's one cell
    centres = x[space.dofmap.list[cells]].mean(axis=1) if len(cells) else np.zeros((0, 3))
    used = np.unique(local)
    imap = space.dofmap.index_map
    glob = imap.local_to_global(used.astype(np.int32)) if used.size else used
    facet_global = imap.local_to_global(local.ravel().astype(np.int32)).reshape(local.shape)
    picked = {k: v[used] for k, v in values.items()}
    return facet_global, which, centres, glob, x[used], picked


def electrode_surfaces(model, currents, velocity: np.ndarray | None = None, t=None) -> dict:
    """``{electrode name: pyvista.PolyData}`` on rank 0 (empty elsewhere), arrays as in
    the module doc; ``velocity``: the normal growth rate at every local P1 dof (m/s,
    growth positive), or None; ``t``: the time (s) written in the field data. Collective."""
    comm = model.domain.comm
    out = {}
    for electrode in model.electrodes:
        parts = gather(comm, _part(model, currents, electrode, velocity))
        if parts is not None:  # rank 0
            surface = _assemble(parts, model.domain.dim)
            names = ",".join(electrode.boundaries)
            notes = {"axisymmetric": AXISYMMETRIC} if model.domain.axisymmetric else {}
            describe(surface, t, boundaries=names, sign_convention=SIGN_CONVENTION, **notes)
            out[electrode.name] = surface
    return out


def _assemble(parts: list, dim: int):
    """One PolyData from every rank's :func:`_part` (rank 0)."""
    import pyvista

    facets = np.concatenate([p[0] for p in parts])
    which = np.concatenate([p[1] for p in parts])
    centres = np.concatenate([p[2] for p in parts])
    dofs = np.concatenate([p[3] for p in parts])
    unique, first = np.unique(dofs, return_index=True)
    points = to_um(np.concatenate([p[4] for p in parts])[first])
    facets = _orient(points, np.searchsorted(unique, facets), to_um(centres))
    width = facets.shape[1]
    flat = np.hstack([np.full((len(facets), 1), width), facets]).ravel()
    if dim == 3:
        surface = pyvista.PolyData(points, faces=flat)
    elif dim == 1:  # the electrode of a 1D cell: its end point(s)
        surface = pyvista.PolyData(points, verts=flat)
    else:
        surface = pyvista.PolyData(points, lines=flat)
    for name in parts[0][5]:
        surface.point_data[name] = np.concatenate([p[5][name] for p in parts])[first]
    surface.cell_data["boundary"] = which
    return surface


def node_weights(surface) -> np.ndarray:
    """Lumped measure of each point of an electrode surface (um^2 in 3D, um in 2D, 1 in 1D):
    a third (half) of each triangle's area (segment's length) to each of its nodes, the
    weights the metrics' area-weighted statistics use (in r-z, field data ``axisymmetric``:
    times 2 pi r, um^2 of the surface of revolution)."""
    if surface.GetNumberOfPolys() == 0 and surface.GetNumberOfLines() == 0:
        return np.ones(surface.n_points)  # 1D: points, each of unit cross-section
    sizes = surface.compute_cell_sizes(length=True, area=True, volume=False)
    triangles = surface.GetNumberOfPolys() > 0
    cells = np.asarray(surface.faces if triangles else surface.lines)
    width = int(cells[0]) if len(cells) else 1
    table = cells.reshape(-1, width + 1)[:, 1:]
    measure = sizes.cell_data["Area" if triangles else "Length"]
    weights = np.zeros(surface.n_points)
    np.add.at(weights, table.ravel(), np.repeat(measure / width, width))
    if "axisymmetric" in surface.field_data:  # r-z: the surface of revolution, 2 pi r dl
        weights *= 2.0 * np.pi * np.abs(np.asarray(surface.points[:, 0]))
    return weights
