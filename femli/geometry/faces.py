"""Triangulating planar polygon faces with Gmsh (lengths in um).

A face is a set of closed loops of 3D points on one axis-aligned plane (outer boundaries
and holes, found by nesting). Gmsh meshes it in 2D keeping every loop vertex and adding
none on the loops (each loop edge is one mesh edge), so the triangles fit exactly to
neighbouring surfaces that share the loops. Used by the 3D level-set rebuild of growth
runs (:mod:`femli.growth.contour`), whose clipped plane faces come as skinny polygon
triangulations that Gmsh cannot reparametrise.
"""

from __future__ import annotations

import gmsh
import numpy as np
from matplotlib.path import Path

from femli.geometry.core import GeometryError, graded_field, set_background

__all__ = ["mesh_face", "nest"]


def nest(loops: list[np.ndarray]) -> list[tuple[int, list[int]]]:
    """Outer loops with their holes: (outer index, hole indices) for loops of 2D points;
    a loop inside an even number of others is an outer boundary, its direct children
    are its holes."""
    paths = [Path(loop) for loop in loops]
    inside = [
        [j for j in range(len(loops)) if j != i and paths[j].contains_point(_probe(loops[i]))]
        for i in range(len(loops))
    ]
    depth = [len(parents) for parents in inside]
    out = []
    for i in range(len(loops)):
        if depth[i] % 2 == 0:
            holes = [j for j in range(len(loops)) if i in inside[j] and depth[j] == depth[i] + 1]
            out.append((i, holes))
    return out


def _probe(loop: np.ndarray) -> tuple[float, float]:
    """A point just off the middle of the loop's first edge (on no other loop)."""
    a, b = loop[0], loop[1]
    return tuple(0.5 * (a + b) + 1e-9 * np.array([b[1] - a[1], a[0] - b[0]]))


def mesh_face(loops: list[np.ndarray], axis: int, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of the face bounded by ``loops`` ((n_k, 3) point arrays on the plane
    normal to ``axis``), interior size growing from the loop spacing up to ``size`` (um).
    Returns (points (n, 3), triangles (m, 3)); the loop points keep their coordinates.

    Needs an initialised gmsh session; replaces the current model.
    """
    gmsh.clear()
    gmsh.model.add("face")
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    keep = [a for a in range(3) if a != axis]
    flat = [loop[:, keep] for loop in loops]
    tags = []
    spacing = float(
        np.median(
            np.concatenate(
                [np.linalg.norm(np.roll(loop, -1, axis=0) - loop, axis=1) for loop in flat]
            )
        )
    )
    for loop in flat:
        ids = [gmsh.model.geo.addPoint(x, y, 0.0) for x, y in loop]
        lines = [gmsh.model.geo.addLine(ids[k], ids[(k + 1) % len(ids)]) for k in range(len(ids))]
        tags.append(gmsh.model.geo.addCurveLoop(lines))
    for outer, holes in nest(flat):
        gmsh.model.geo.addPlaneSurface([tags[outer], *[tags[h] for h in holes]])
    gmsh.model.geo.synchronize()
    curves = [c for _, c in gmsh.model.getEntities(1)]
    for curve in curves:
        gmsh.model.mesh.setTransfiniteCurve(curve, 2)
    small = min(spacing, size)
    set_background([graded_field(1, curves, small, size)], size)
    gmsh.model.mesh.generate(2)
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    xyz = np.asarray(coords).reshape(-1, 3)
    index = np.full(int(node_tags.max()) + 1, -1)
    index[node_tags.astype(np.int64)] = np.arange(len(node_tags))
    _, _, conn = gmsh.model.mesh.getElements(2)
    if not len(conn):
        raise GeometryError("a plane face of the rebuilt surface could not be meshed")
    tris = index[np.asarray(conn[0], dtype=np.int64)].reshape(-1, 3)
    out = np.zeros((len(xyz), 3))
    out[:, keep[0]], out[:, keep[1]] = xyz[:, 0], xyz[:, 1]
    out[:, axis] = loops[0][0, axis]  # loop points come back with their exact coordinates
    return out, tris
