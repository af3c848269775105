"""Checks of a meshed Gmsh model before DOLFINx distributes it (rank-local, Gmsh).

:func:`msh_problem` says why a model read from a ``.msh`` file cannot be a femli mesh;
:func:`loose_nodes_problem` why any model cannot be distributed (nodes in no cell, on
which DOLFINx aborts the MPI job). :mod:`femli.mesh` raises their answers as errors.
"""

from __future__ import annotations

import numpy as np

from femli.units import MESH_UNIT

__all__ = ["MIN_MESH_EXTENT", "loose_nodes_problem", "msh_problem"]

#: Smallest extent (um) of a ``.msh`` file: a smaller mesh was written in metres.
MIN_MESH_EXTENT = 1.0e-3


def loose_nodes_problem(dim: int) -> str | None:
    """What is wrong when the open Gmsh model has nodes that no element of dimension
    ``dim`` uses (a surface bounding no volume, a stray point), or None. DOLFINx's
    ``model_to_mesh`` takes every node but keeps only the cells' ones, and then looks
    boundary nodes up past the end of its node list: an MPI abort ("Invalid rank") even
    on one process. Rank-local (Gmsh)."""
    import gmsh

    tags, _, _ = gmsh.model.mesh.getNodes()
    if len(tags) == 0:
        return None
    used = np.zeros(int(np.max(tags)) + 1, dtype=bool)
    for nodes in gmsh.model.mesh.getElements(dim)[2]:
        used[np.asarray(nodes, dtype=np.int64)] = True
    loose = np.flatnonzero(~used[np.asarray(tags, dtype=np.int64)])
    if loose.size == 0:
        return None
    groups = [
        repr(gmsh.model.getPhysicalName(d, t) or f"{d}:{t}")
        for d, t in gmsh.model.getPhysicalGroups()
        if d < dim and _group_has_loose(d, t, used)
    ]
    where = f" (elements of {', '.join(groups)} lie outside them)" if groups else ""
    return (
        f"{loose.size} of its {len(tags)} nodes belong to no {dim}D element{where}; "
        "every node must be a node of a cell"
    )


def _group_has_loose(dim: int, tag: int, used: np.ndarray) -> bool:
    """Whether an element of physical group (``dim``, ``tag``) has a node not ``used``."""
    import gmsh

    for entity in gmsh.model.getEntitiesForPhysicalGroup(dim, tag):
        for nodes in gmsh.model.mesh.getElements(dim, entity)[2]:
            if not used[np.asarray(nodes, dtype=np.int64)].all():
                return True
    return False


def msh_problem(dim: int, length_unit: float = MESH_UNIT) -> str | None:
    """Why the open Gmsh model (of dimension ``dim``, read from a ``.msh`` file whose
    coordinates are in ``length_unit`` m) cannot be a femli mesh, or None: no elements,
    an extent below :data:`MIN_MESH_EXTENT` um (coordinates in metres where um are
    expected), or no physical groups. (Nodes in no cell: :func:`loose_nodes_problem`,
    which :func:`femli.mesh.from_gmsh_model` checks for every mesh.) Rank-local (Gmsh)."""
    import gmsh

    _, coords, _ = gmsh.model.mesh.getNodes()
    if dim < 1 or len(coords) == 0 or len(gmsh.model.mesh.getElementTypes(dim)) == 0:
        return "it contains no mesh elements (an empty file, or a geometry without a mesh)"
    xyz = np.asarray(coords).reshape(-1, 3)
    extent = float((xyz.max(axis=0) - xyz.min(axis=0)).max())
    if extent * length_unit / MESH_UNIT < MIN_MESH_EXTENT:
        return (
            f"its coordinates span only {extent:.3g}; femli reads .msh coordinates in "
            f"micrometres (um), so the mesh would be {extent * 1e3:.3g} nm wide: it looks "
            "written in metres (scale it by 1e6)"
        )
    if not gmsh.model.getPhysicalGroups(dim):
        return "it has no physical groups of its top dimension"
    return None
