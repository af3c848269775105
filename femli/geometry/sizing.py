"""Mesh size fields (Distance + Threshold) shared by the builders; sizes in um."""

from __future__ import annotations

from collections.abc import Sequence

import gmsh

#: Default growth of the element size per unit distance away from a refined entity.
GRADING = 0.3


def threshold_field(
    dim: int,
    tags: Sequence[int],
    size_min: float,
    size_max: float,
    dist_min: float,
    dist_max: float,
) -> int:
    """Distance + Threshold field: ``size_min`` within ``dist_min`` of the entities, growing
    linearly to ``size_max`` at ``dist_max`` (um). ``dim`` is 0 (points), 1 (curves) or 2."""
    fd = gmsh.model.mesh.field.add("Distance")
    key = {0: "PointsList", 1: "CurvesList", 2: "SurfacesList"}[dim]
    gmsh.model.mesh.field.setNumbers(fd, key, list(tags))
    if dim == 1:
        gmsh.model.mesh.field.setNumber(fd, "Sampling", 200)
    ft = gmsh.model.mesh.field.add("Threshold")
    gmsh.model.mesh.field.setNumber(ft, "InField", fd)
    gmsh.model.mesh.field.setNumber(ft, "SizeMin", size_min)
    gmsh.model.mesh.field.setNumber(ft, "SizeMax", size_max)
    gmsh.model.mesh.field.setNumber(ft, "DistMin", dist_min)
    gmsh.model.mesh.field.setNumber(ft, "DistMax", dist_max)
    return ft


def set_background(fields: Sequence[int], size_max: float) -> None:
    """Use the minimum of ``fields`` as the background size field, capped at ``size_max``."""
    fc = gmsh.model.mesh.field.add("Constant")
    gmsh.model.mesh.field.setNumber(fc, "VIn", size_max)
    fm = gmsh.model.mesh.field.add("Min")
    gmsh.model.mesh.field.setNumbers(fm, "FieldsList", [*fields, fc])
    gmsh.model.mesh.field.setAsBackgroundMesh(fm)
    gmsh.option.setNumber("Mesh.MeshSizeMax", size_max)


def graded_field(
    dim: int,
    tags: Sequence[int],
    size_min: float,
    size_max: float,
    refinement: float = 1.0,
    grading: float = GRADING,
) -> int:
    """Threshold field: ``size_min`` within 2 ``size_min`` of the entities, then growing with
    slope ``grading`` up to ``size_max``. Sizes (not distances) are divided by ``refinement``,
    so refined meshes are self-similar (every element split ~``refinement`` times per side)."""
    dist_min = 2 * size_min
    dist_max = dist_min + max(size_max - size_min, 0.0) / grading
    return threshold_field(
        dim, tags, size_min / refinement, size_max / refinement, dist_min, dist_max
    )
