"""A 1D cell: the interval [0, length] (um) along x, for textbook checks from case files.

The two end points are the boundaries, named ``left`` (x = 0) and ``right`` (x = length)
by default; ``left``/``right`` rename them (e.g. "anode"/"cathode" or "electrode"/"bulk").
The mesh is uniform: ``cells`` elements, or as many as an element size ``h_um`` (um)
needs. Currents of a 1D cell are per unit area (A/m^2): a boundary point has measure 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import gmsh

from femli.geometry.core import (
    MIN_ELEMENT_SIZE,
    Geometry,
    MeshQuality,
    RegionNames,
    add_regions,
    new_model,
    param_units,
    require,
    require_positive,
)

__all__ = [
    "MAX_CELLS_1D",
    "IntervalParams",
    "build_interval",
]

#: Most elements of a 1D cell.
MAX_CELLS_1D = 10_000_000


@dataclass(slots=True, frozen=True)
class IntervalParams:
    """Parameters of :func:`build_interval`: ``length_um`` (um), ``cells`` (elements) or
    ``h_um`` (element size, um; not both; neither: 200 cells), the boundary names
    ``left`` (x = 0) and ``right`` (x = length). ``dim`` is 1."""

    #: The default names; a case may rename the two boundaries (:meth:`region_names`).
    REGION_NAMES: ClassVar[RegionNames] = RegionNames(("electrolyte",), ("left", "right"))
    #: Unit of each parameter (femli builders, unit strings in case files).
    UNITS: ClassVar[dict[str, str]] = param_units("length_um h_um", "dim cells left right")

    dim: int = 1
    length_um: float = 100.0
    cells: int | None = None
    h_um: float | None = None
    left: str = "left"
    right: str = "right"

    def __post_init__(self) -> None:
        require(self.dim == 1, "dim", self.dim, "1 (an interval is 1D)")
        require_positive(length_um=self.length_um)
        require(
            self.cells is None or self.h_um is None,
            "cells",
            self.cells,
            "give cells or h_um, not both",
        )
        if self.h_um is not None:
            require(
                math.isfinite(self.h_um) and self.h_um >= MIN_ELEMENT_SIZE,
                "h_um",
                self.h_um,
                f"must be >= {MIN_ELEMENT_SIZE} um",
            )
        count = self.count()
        require(
            1 <= count <= MAX_CELLS_1D,
            "cells" if self.h_um is None else "h_um",
            self.cells if self.h_um is None else self.h_um,
            f"gives {count} elements; allowed: 1 to {MAX_CELLS_1D}",
        )
        for key, name in (("left", self.left), ("right", self.right)):
            require(bool(name.strip()), key, name, "a non-empty boundary name")
        require(self.left != self.right, "right", self.right, "a name other than left's")

    def count(self) -> int:
        """The number of elements."""
        if self.h_um is not None:
            return max(1, math.ceil(self.length_um / self.h_um - 1e-9))
        return 200 if self.cells is None else self.cells

    def region_names(self) -> RegionNames:
        """``electrolyte``, and the two boundary names."""
        return RegionNames(("electrolyte",), (self.left, self.right))


def build_interval(params: IntervalParams) -> Geometry:
    """Mesh [0, length_um] with ``count()`` equal elements. Groups: cells "electrolyte";
    points ``left`` (x = 0) and ``right`` (x = length_um)."""
    new_model("interval")
    geo = gmsh.model.geo
    start, end = geo.addPoint(0, 0, 0), geo.addPoint(params.length_um, 0, 0)
    line = geo.addLine(start, end)
    geo.mesh.setTransfiniteCurve(line, params.count() + 1)
    geo.synchronize()
    facets = {params.left: [start], params.right: [end]}
    cells, facet_groups = add_regions(1, {"electrolyte": [line]}, facets, params.region_names())
    gmsh.model.mesh.generate(1)
    count = params.count()  # equal segments: Gmsh's SICN/gamma are 0 for lines, the shape is ideal
    quality = MeshQuality(1.0, 1.0, 1.0, 1.0, count, count + 1)
    features = {"length": params.length_um, "cells": params.count()}
    return Geometry("interval", 1, cells, facet_groups, features, quality, params)
