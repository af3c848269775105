"""A 2D annulus sector between two concentric circles (lengths in um, angles in degrees).

The electrolyte fills inner_radius <= |x| <= outer_radius between the angles
``angle_start`` and ``angle_end`` (from the +x axis, counter-clockwise; 360 degrees: the
whole ring). Planar, it is a cross-section of concentric cylinders; read as r-z
(``[geometry] axisymmetric = true``, x = r, y = z) the sector 0..90 is a quarter of
concentric spheres (the side at 90 degrees is the symmetry axis r = 0, the one at 0
degrees a mirror plane z = 0), the sector -90..90 the whole of them.

Boundaries: "inner", "outer", and the straight sides "side_start" (at ``angle_start``)
and "side_end" (at ``angle_end``), absent for a whole ring. Element sizes: ``h_inner`` on
the inner circle, growing to ``h_outer`` at the outer one (um), both divided by
``refinement``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import gmsh
import numpy as np

from femli.geometry.core import (
    Geometry,
    GeometryError,
    RegionNames,
    add_regions,
    check_sizes,
    mass,
    mesh_and_measure,
    new_model,
    param_units,
    require,
    require_positive,
    set_background,
    threshold_field,
)

__all__ = [
    "AnnulusParams",
    "build_annulus",
]

_SIDES = ("side_start", "side_end")


@dataclass(slots=True, frozen=True)
class AnnulusParams:
    """Parameters of :func:`build_annulus` (lengths in um, angles in degrees)."""

    #: Every region name an annulus may create (the sides only for a sector).
    REGION_NAMES: ClassVar[RegionNames] = RegionNames(("electrolyte",), ("inner", "outer", *_SIDES))
    #: Unit of each parameter (femli builders, unit strings in case files).
    UNITS: ClassVar[dict[str, str]] = param_units(
        "inner_radius outer_radius h_inner h_outer",
        "dim refinement",
        angle_start="deg",
        angle_end="deg",
    )

    dim: int = 2
    inner_radius: float = 1.0
    outer_radius: float = 10.0
    angle_start: float = 0.0
    angle_end: float = 90.0
    h_inner: float | None = None
    h_outer: float | None = None
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require(self.dim == 2, "dim", self.dim, "2 (an annulus is 2D)")
        require_positive(inner_radius=self.inner_radius, outer_radius=self.outer_radius)
        require(
            self.outer_radius > self.inner_radius,
            "outer_radius",
            self.outer_radius,
            f"must be > inner_radius ({self.inner_radius:g} um)",
        )
        span = self.angle_end - self.angle_start
        require(
            math.isfinite(span) and 0 < span <= 360,
            "angle_end",
            self.angle_end,
            f"must be above angle_start ({self.angle_start:g}) by at most 360 degrees",
        )
        h_inner, h_outer = self.sizes()
        check_sizes(self.refinement, h_inner=h_inner, h_outer=h_outer)

    @property
    def whole(self) -> bool:
        """A whole ring (no straight sides)."""
        return self.angle_end - self.angle_start >= 360

    def sizes(self) -> tuple[float, float]:
        """(h at the inner circle, h at the outer one), um: default a tenth of the inner
        radius, growing to a tenth of the gap."""
        h_inner = self.h_inner if self.h_inner is not None else self.inner_radius / 10
        gap = self.outer_radius - self.inner_radius
        h_outer = self.h_outer if self.h_outer is not None else max(gap / 10, h_inner)
        return h_inner, h_outer

    def region_names(self) -> RegionNames:
        """``electrolyte``; ``inner``, ``outer`` and, for a sector, the two sides."""
        return self.REGION_NAMES.without(*_SIDES) if self.whole else self.REGION_NAMES


def _build_occ(p: AnnulusParams) -> int:
    """The electrolyte surface: a ring, cut to the sector by a wedge polygon."""
    occ = gmsh.model.occ
    a, b = p.inner_radius, p.outer_radius
    ring, _ = occ.cut([(2, occ.addDisk(0, 0, 0, b, b))], [(2, occ.addDisk(0, 0, 0, a, a))])
    if not p.whole:  # a polygon from the centre out past the outer circle, <= 45 degrees a side
        steps = max(1, math.ceil((p.angle_end - p.angle_start) / 45))
        angles = np.radians(np.linspace(p.angle_start, p.angle_end, steps + 1))
        far = 2 * b
        corners = [(0.0, 0.0)] + [(far * math.cos(t), far * math.sin(t)) for t in angles]
        points = [occ.addPoint(x, y, 0) for x, y in corners]
        lines = [occ.addLine(points[k], points[(k + 1) % len(points)]) for k in range(len(points))]
        wedge = occ.addPlaneSurface([occ.addCurveLoop(lines)])
        ring, _ = occ.intersect(ring, [(2, wedge)])
    occ.synchronize()
    if len(ring) != 1:
        raise GeometryError(f"the annulus came out in {len(ring)} pieces, expected 1")
    return ring[0][1]


def _classify(p: AnnulusParams) -> dict[str, list[int]]:
    """Boundary curves by their distance from the centre (circles) or angle (sides)."""
    groups: dict[str, list[int]] = {k: [] for k in p.region_names().facets}
    tol = 1e-6 * p.outer_radius
    for _, tag in gmsh.model.getEntities(1):
        lo, hi = gmsh.model.getParametrizationBounds(1, tag)
        ends = gmsh.model.getValue(1, tag, [lo[0], 0.5 * (lo[0] + hi[0]), hi[0]]).reshape(3, 3)
        radii = np.hypot(ends[:, 0], ends[:, 1])
        if np.all(np.abs(radii - p.inner_radius) < tol):
            groups["inner"].append(tag)
        elif np.all(np.abs(radii - p.outer_radius) < tol):
            groups["outer"].append(tag)
        else:
            mid = ends[1]
            angle = math.degrees(math.atan2(mid[1], mid[0]))
            start = (angle - p.angle_start + 180) % 360 - 180
            groups["side_start" if abs(start) < 1e-3 else "side_end"].append(tag)
    return groups


def build_annulus(params: AnnulusParams) -> Geometry:
    """Mesh the annulus sector. Groups: cells "electrolyte"; facets "inner", "outer" and
    (a sector) "side_start", "side_end"."""
    new_model("annulus")
    surface = _build_occ(params)
    groups = _classify(params)
    h_inner, h_outer = params.sizes()
    ref = params.refinement
    gap = params.outer_radius - params.inner_radius
    field = threshold_field(1, groups["inner"], h_inner / ref, h_outer / ref, 0.0, gap)
    set_background([field], h_outer / ref)
    cells, facets = add_regions(2, {"electrolyte": [surface]}, groups, params.region_names())
    quality = mesh_and_measure(2)
    features = {
        "inner_measure": mass(1, groups["inner"]),
        "outer_measure": mass(1, groups["outer"]),
        "electrolyte_measure": mass(2, [surface]),
        "h_inner": h_inner / ref,
    }
    return Geometry("annulus", 2, cells, facets, features, quality, params)
