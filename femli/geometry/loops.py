"""Remeshing a deformed 2D domain from its boundary (lengths in um).

The moving-boundary solver hands over the domain's boundary as closed loops of named
polylines (one loop for the outer boundary, more for holes). Moving (depositing)
polylines are resampled at uniform arc length so that segments squeezed by the
growth disappear; straight passive ones are simplified to their corners. The result
is a fresh Gmsh model with the same physical-group names.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import gmsh
import numpy as np

from femli.geometry.core import (
    GeometryError,
    RemeshSizing,
    add_groups,
    new_model,
    remesh_fields,
    set_background,
)

__all__ = [
    "Polyline",
    "build_from_loops",
    "resample",
    "resample_loop",
    "signed_area",
    "simplify",
]


@dataclass(slots=True)
class Polyline:
    """An open run of boundary points (n, 2) in um belonging to one named group."""

    name: str
    points: np.ndarray


def resample(points: np.ndarray, spacing: float) -> np.ndarray:
    """Points at (nearly) uniform arc length along a polyline, end points kept."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(1, int(np.ceil(s[-1] / spacing)))
    t = np.linspace(0.0, s[-1], n + 1)
    return np.column_stack([np.interp(t, s, points[:, k]) for k in range(points.shape[1])])


def simplify(points: np.ndarray, tol: float) -> np.ndarray:
    """Drop interior points that lie on the straight line through their neighbours."""
    keep = [0]
    for k in range(1, len(points) - 1):
        a, b, c = points[keep[-1]], points[k], points[k + 1]
        ab, ac = b - a, c - a
        cross = abs(ab[0] * ac[1] - ab[1] * ac[0]) / max(np.linalg.norm(ac), 1e-300)
        if cross > tol:
            keep.append(k)
    keep.append(len(points) - 1)
    return points[keep]


def signed_area(points: np.ndarray) -> float:
    """Shoelace area of a closed polygon (positive counter-clockwise), um^2."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def resample_loop(
    loop: Sequence[Polyline], moving: Sequence[str], h_moving: float, h_far: float
) -> list[np.ndarray]:
    """New points of each polyline of a loop; the enclosed area is kept.

    Resampled points sit on chords of the old polyline, which cuts convex corners; the
    moving polylines' interior points are then shifted along their normal by one
    uniform offset that restores the loop's area (so remeshing conserves the deposit).
    """
    new = [
        resample(line.points, h_moving)
        if line.name in moving
        else simplify(line.points, 1e-6 * h_far)
        for line in loop
    ]
    target = signed_area(_closed([line.points for line in loop]))
    shifted = [k for k, line in enumerate(loop) if line.name in moving and len(new[k]) > 2]
    for _ in range(3):  # the area is linear in the offset up to O(offset^2): iterate
        length = sum(np.linalg.norm(np.diff(new[k], axis=0), axis=1).sum() for k in shifted)
        if not shifted or length == 0.0:
            break
        offset = (target - signed_area(_closed(new))) / length  # d(area)/d(offset) = length
        for k in shifted:
            p = new[k]
            tangent = p[2:] - p[:-2]
            normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
            normal /= np.linalg.norm(normal, axis=1)[:, None]
            p[1:-1] += offset * normal
    return new


def _closed(parts: Sequence[np.ndarray]) -> np.ndarray:
    """A loop's points without the repeated junction points."""
    return np.concatenate([p[:-1] for p in parts])


def build_from_loops(
    loops: Sequence[Sequence[Polyline]],
    moving: Sequence[str],
    cell_name: str,
    h_moving: float,
    h_far: float,
    sizing: RemeshSizing | None = None,
) -> dict[str, int]:
    """Mesh the region bounded by ``loops`` (first = outer). Returns facet group tags.
    Sizes in um: ``h_moving`` at the ``moving`` lines, ``sizing``: the lines that keep
    their own size and the builder's grading, up to ``h_far``.

    Needs an initialised gmsh session; replaces the current model.
    """
    new_model("remesh")
    geo = gmsh.model.geo
    curve_loops: list[int] = []
    by_name: dict[str, list[int]] = {}
    for loop in loops:
        curves = []
        first_point, previous = None, None
        for k, pts in enumerate(resample_loop(loop, moving, h_moving, h_far)):
            line = loop[k]
            last_of_loop = k == len(loop) - 1
            tags = _points(geo, pts, previous, first_point if last_of_loop else None)
            first_point = first_point or tags[0]
            previous = tags[-1]
            for a, b in itertools.pairwise(tags):
                c = geo.addLine(a, b)
                curves.append(c)
                by_name.setdefault(line.name, []).append(c)
        curve_loops.append(geo.addCurveLoop(curves))
    surface = geo.addPlaneSurface(curve_loops)
    geo.synchronize()
    add_groups(2, {cell_name: [surface]})
    groups = add_groups(1, by_name)
    set_background(remesh_fields(1, by_name, moving, h_moving, h_far, sizing), h_far)
    gmsh.model.mesh.generate(2)
    if not gmsh.model.mesh.getElements(2)[1]:
        raise GeometryError("remeshing produced no 2D elements")
    return groups


def _points(geo, pts: np.ndarray, previous: int | None, closing: int | None) -> list[int]:
    tags = [] if previous is None else [previous]
    body = pts if previous is None else pts[1:]
    if closing is not None:
        body = body[:-1]
    tags += [geo.addPoint(float(x), float(y), 0.0) for x, y in body]
    if closing is not None:
        tags.append(closing)
    return tags
