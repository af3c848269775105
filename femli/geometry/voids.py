"""Solid-state contact with interfacial voids (seed 004): Li | optional interlayer | solid
electrolyte, 2D or 3D. Lengths in micrometres; y (2D) or z (3D) is up, Li at the bottom.

Voids are half-ellipses (2D) or half-spheroids (3D) cut into the metal just below the solid
electrolyte (the interlayer if there is one, else Li); they are holes, not meshed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gmsh
import numpy as np

from femli.geometry.core import (
    Geometry,
    GeometryError,
    add_groups,
    check_sizes,
    mass,
    mesh_and_measure,
    new_model,
    place_discs,
    require,
    require_positive,
)
from femli.geometry.sizing import graded_field, set_background

MAX_VOID_COVERAGE = 0.5
_EPS = 1e-6


@dataclass(slots=True, frozen=True)
class VoidContactParams:
    """Parameters of :func:`build_void_contact` (lengths in um).

    Layers: Li ``li_thickness``, interlayer ``interlayer_thickness`` (0 = none), solid
    electrolyte ``se_thickness``. A fraction ``contact_fraction`` of the metal | SE interface
    stays in contact; the rest is voids whose widths (diameters in 3D) are lognormal with mean
    ``void_size`` and coefficient of variation ``void_size_cv`` (rescaled to hit the
    fraction exactly), depth ``void_aspect`` * half-width, seeded random placement keeping
    ``min_gap``. Mesh sizes ``h_interface`` (default min void size/6), ``h_far``, divided by
    ``refinement``.
    """

    dim: int = 2
    width: float = 10.0
    depth: float = 10.0
    li_thickness: float = 2.0
    interlayer_thickness: float = 0.0
    se_thickness: float = 5.0
    contact_fraction: float = 0.6
    void_size: float = 1.0
    void_size_cv: float = 0.3
    void_aspect: float = 0.5
    min_gap: float = 0.1
    seed: int = 0
    h_interface: float | None = None
    h_far: float = 0.8
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require(self.dim in (2, 3), "dim", self.dim, "2 or 3")
        require_positive(
            width=self.width,
            depth=self.depth,
            li_thickness=self.li_thickness,
            se_thickness=self.se_thickness,
            void_size=self.void_size,
            void_aspect=self.void_aspect,
            min_gap=self.min_gap,
        )
        require(
            self.interlayer_thickness >= 0,
            "interlayer_thickness",
            self.interlayer_thickness,
            ">= 0",
        )
        require(
            0 < self.contact_fraction <= 1, "contact_fraction", self.contact_fraction, "in (0, 1]"
        )
        require(self.void_size_cv >= 0, "void_size_cv", self.void_size_cv, ">= 0")
        sizes = self.void_sizes()
        metal = self.interlayer_thickness or self.li_thickness
        deepest = self.void_aspect * float(sizes.max(initial=0.0)) / 2
        require(
            deepest < metal - self.min_gap,
            "void_aspect",
            self.void_aspect,
            f"voids up to {deepest:.3g} um deep must stay within the metal layer ({metal:g} um)",
        )
        check_sizes(self.refinement, h_interface=self.sizes()[0], h_far=self.h_far)
        h, smallest = self.sizes()[0], self.smallest_feature()
        require(
            h <= smallest / 2, "h_interface", h, f"<= half the smallest void ({smallest:.3g} um)"
        )
        self.void_centres()  # raises if the voids do not fit

    @property
    def footprint(self) -> float:
        """Interface length (2D, um) or area (3D, um^2)."""
        return self.width * (self.depth if self.dim == 3 else 1.0)

    @property
    def interface_height(self) -> float:
        """Height (um) of the metal | solid-electrolyte interface."""
        return self.li_thickness + self.interlayer_thickness

    def void_sizes(self) -> np.ndarray:
        """Void widths / diameters (um), lognormal, rescaled to the exact void fraction."""
        target = (1 - self.contact_fraction) * self.footprint
        if target <= 0:
            return np.empty(0)
        rng = np.random.default_rng(self.seed)
        sigma = math.sqrt(math.log1p(self.void_size_cv**2))
        mu = math.log(self.void_size) - sigma**2 / 2
        measure = (lambda s: s) if self.dim == 2 else (lambda s: math.pi * s * s / 4)
        sizes: list[float] = []
        while sum(measure(s) for s in sizes) < target:
            sizes.append(float(rng.lognormal(mu, sigma)))
        scale = target / sum(measure(s) for s in sizes)
        return np.sort(np.array(sizes) * (scale if self.dim == 2 else math.sqrt(scale)))[::-1]

    def smallest_feature(self) -> float:
        """Smallest void width or twice-depth (um); the layer thickness if there are no voids."""
        s = self.void_sizes()
        if not s.size:
            return min(self.li_thickness, self.se_thickness)
        return float(s.min()) * min(1.0, self.void_aspect)

    def sizes(self) -> tuple[float, float]:
        """(h_interface, h_far) in um before division by ``refinement``."""
        auto = self.smallest_feature() / 6
        h = self.h_interface if self.h_interface is not None else auto
        return min(h, self.h_far), self.h_far

    def void_centres(self) -> np.ndarray:
        """(n, dim-1) void centres (um) on the interface, seeded random sequential placement."""
        s, gap = self.void_sizes(), self.min_gap
        if not s.size:
            return np.empty((0, self.dim - 1))
        span = [self.width, self.depth][: self.dim - 1]
        if self.dim == 2:
            cover = float(np.sum(s + gap)) / (self.width - gap)
        else:
            room = (self.width - gap) * (self.depth - gap)
            cover = float(np.sum(math.pi * (s / 2 + gap / 2) ** 2)) / room
        limit = 1.0 if self.dim == 2 else MAX_VOID_COVERAGE
        rng = np.random.default_rng(self.seed + 1)
        got = None
        if cover <= limit:
            for _ in range(20):
                got = place_discs(rng, s / 2, [gap] * len(span), [x - gap for x in span], gap)
                if got is not None:
                    return got
        raise GeometryError(
            f"contact_fraction={self.contact_fraction} needs {s.size} voids of mean"
            f" void_size={self.void_size} um covering {cover:.0%} of the interface with"
            f" min_gap={gap} um; they cannot be placed apart (raise contact_fraction or"
            " lower void_size/min_gap)"
        )


def _occ(p: VoidContactParams) -> list[tuple[int, int]]:
    """Layers as OCC entities, voids cut from the metal under the SE, fragmented."""
    occ, dim = gmsh.model.occ, p.dim
    y0, layers = 0.0, []
    for t in (p.li_thickness, p.interlayer_thickness, p.se_thickness):
        if t > 0:
            if dim == 2:
                layers.append(occ.addRectangle(0, y0, 0, p.width, t))
            else:
                layers.append(occ.addBox(0, 0, y0, p.width, p.depth, t))
        y0 += t
    yi = p.interface_height
    voids = []
    for c, s in zip(p.void_centres(), p.void_sizes(), strict=True):
        rx, ry = s / 2, p.void_aspect * s / 2
        if dim == 2:
            if ry <= rx:
                voids.append(occ.addDisk(c[0], yi, 0, rx, ry))
            else:
                voids.append(occ.addDisk(c[0], yi, 0, ry, rx))
                occ.rotate([(2, voids[-1])], c[0], yi, 0, 0, 0, 1, math.pi / 2)
        else:
            voids.append(occ.addSphere(c[0], c[1], yi, rx))
            occ.dilate([(3, voids[-1])], c[0], c[1], yi, 1, 1, ry / rx)
    metal = layers[-2]
    if voids:
        cut, _ = occ.cut([(dim, metal)], [(dim, v) for v in voids])
    else:
        cut = [(dim, metal)]
    others = [(dim, t) for t in layers if t != metal]
    cells, _ = occ.fragment(cut, others)
    occ.synchronize()
    return cells


def _cell_groups(p: VoidContactParams, cells: list[tuple[int, int]]) -> dict[str, list[int]]:
    """lithium / interlayer / electrolyte (the solid electrolyte) by vertical centre."""
    up = p.dim - 1
    out: dict[str, list[int]] = {"electrolyte": [], "lithium": [], "interlayer": []}
    for d, t in cells:
        bb = gmsh.model.getBoundingBox(d, t)
        mid = (bb[up] + bb[3 + up]) / 2
        if mid > p.interface_height:
            out["electrolyte"].append(t)
        elif mid > p.li_thickness:
            out["interlayer"].append(t)
        else:
            out["lithium"].append(t)
    return out


def _facet_name(p: VoidContactParams, tag: int, se: set[int]) -> str:
    """Group name of boundary entity ``tag`` (dimension dim-1)."""
    d = up = p.dim - 1
    lo, hi = np.split(np.array(gmsh.model.getBoundingBox(d, tag)), 2)
    planes = [("wall_left", 0, 0.0), ("wall_right", 0, p.width)]
    if p.dim == 3:
        planes += [("wall_front", 1, 0.0), ("wall_back", 1, p.depth)]
    planes += [("collector", up, 0.0), ("bulk", up, p.interface_height + p.se_thickness)]
    if p.interlayer_thickness > 0:
        planes.append(("li_interlayer", up, p.li_thickness))
    for name, axis, at in planes:
        if lo[axis] > at - _EPS and hi[axis] < at + _EPS:
            return name
    cells = set(gmsh.model.getAdjacencies(d, tag)[0])
    if cells & se and len(cells) == 2:
        return "contact"
    return "void"


def build_void_contact(params: VoidContactParams) -> Geometry:
    """Mesh Li | (interlayer) | solid electrolyte with interfacial voids (2D or 3D).

    Groups: cells "lithium", "interlayer" (if thickness > 0), "electrolyte" (the solid
    electrolyte: it is the only electrolyte, so generic physics finds it by that name).
    Facets "contact" (metal | SE in contact), "void" (void surfaces, metal and SE sides),
    "collector" (bottom of the Li, y/z = 0), "bulk" (top of the SE, counter electrode side),
    "li_interlayer" (Li | interlayer), "wall_left"/"wall_right" and in 3D
    "wall_front"/"wall_back".
    """
    new_model("void_contact")
    p, d = params, params.dim - 1
    cells = _cell_groups(p, _occ(p))
    names = ["contact", "void", "collector", "bulk", "li_interlayer", "wall_left", "wall_right"]
    names += ["wall_front", "wall_back"] if p.dim == 3 else []
    facets: dict[str, list[int]] = {k: [] for k in names}
    se = set(cells["electrolyte"])
    for _, tag in gmsh.model.getEntities(d):
        facets[_facet_name(p, tag, se)].append(tag)
    h, hfar = p.sizes()
    fields = [graded_field(d, facets["contact"] + facets["void"], h, hfar, p.refinement)]
    set_background(fields, hfar / p.refinement)
    cell_groups = add_groups(p.dim, cells)
    facet_groups = add_groups(d, facets)
    quality = mesh_and_measure(p.dim)
    feats = {
        "contact_fraction": mass(d, facets["contact"]) / p.footprint,
        "contact_fraction_target": p.contact_fraction,
        "n_voids": int(p.void_sizes().size),
        "void_sizes": p.void_sizes().tolist(),
        "void_centres": p.void_centres().tolist(),
        "contact_measure": mass(d, facets["contact"]),
        "void_measure": mass(d, facets["void"]),
        "footprint": p.footprint,
        "h_min": h / p.refinement,
    }
    return Geometry("void_contact", p.dim, cell_groups, facet_groups, feats, quality, p)
