"""Spherical-cap Li nuclei on a flat anode under an electrolyte box (seed 003), 3D and 2D.

Lengths in micrometres. 3D: anode x in [0, width], y in [0, depth] at z = 0, electrolyte up to
z = height. 2D cross-section: anode along x at y = 0, caps are circular segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import gmsh
import numpy as np

from femli.geometry.core import (
    WALLS,
    WALLS_3D,
    Geometry,
    GeometryError,
    RegionNames,
    add_regions,
    check_sizes,
    graded_field,
    mass,
    mesh_and_measure,
    new_model,
    param_units,
    place_discs,
    require,
    require_choice,
    require_features,
    require_positive,
    require_seed,
    set_background,
)

__all__ = [
    "MAX_RANDOM_COVERAGE",
    "PLACEMENTS",
    "NucleusArrayParams",
    "build_nucleus_array",
]

PLACEMENTS = ("random", "lattice")
#: Random sequential adsorption of discs jams near 0.547 coverage; refuse above this.
MAX_RANDOM_COVERAGE = 0.5
_EPS = 1e-6


@dataclass(slots=True, frozen=True)
class NucleusArrayParams:
    """Parameters of :func:`build_nucleus_array` (lengths in um, angles in degrees).

    Nuclei are spherical caps of base ``diameter`` with ``contact_angle`` (90 = hemisphere)
    or, if given, ``cap_height`` (overrides the angle). Their number is ``count`` or, if
    ``density`` is given, round(density * footprint) (per um^2 in 3D, per um in 2D).
    ``placement`` "random" (sequential, seeded, ``min_gap`` between footprints and to walls)
    or "lattice" (a near-square grid filled row by row). Mesh sizes ``h_nucleus`` (default
    diameter/8) on caps, ``h_substrate`` on the anode, ``h_far`` far away, all divided by
    ``refinement``.
    """

    #: Every region name the builder may create: cells, facets (3D adds the front/back
    #: walls).
    REGION_NAMES: ClassVar[RegionNames] = RegionNames(
        ("electrolyte",), ("nuclei", "substrate", "bulk", *WALLS, *WALLS_3D)
    )

    #: Unit of each parameter ("" for counts, choices and ratios): `femli builders`.
    UNITS: ClassVar[dict[str, str]] = param_units(
        "width depth height diameter cap_height min_gap h_nucleus h_substrate h_far",
        "dim count placement seed refinement",
        density="1/um2 (3D), 1/um (2D)",
        contact_angle="deg",
    )

    dim: int = 3
    width: float = 5.0
    depth: float = 4.5
    height: float = 5.0
    diameter: float = 0.55
    count: int = 6
    density: float | None = None
    contact_angle: float = 90.0
    cap_height: float | None = None
    placement: str = "random"
    min_gap: float = 0.1
    seed: int = 0
    h_nucleus: float | None = None
    h_substrate: float = 0.25
    h_far: float = 0.6
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require_choice(dim=(self.dim, (2, 3)))
        require_positive(
            width=self.width, depth=self.depth, height=self.height, diameter=self.diameter
        )
        require(self.min_gap > 0, "min_gap", self.min_gap, "must be > 0 (um)")
        require_choice(placement=(self.placement, PLACEMENTS))
        require(self.n >= 1, "count", self.count, "at least one nucleus (count or density)")
        given = ("count", self.count) if self.density is None else ("density", self.density)
        require_features(self.n, *given)
        require_seed(self.seed)
        if self.cap_height is None:
            ok = 5.0 <= self.contact_angle <= 150.0
            require(ok, "contact_angle", self.contact_angle, "between 5 and 150 degrees")
        else:
            require_positive(cap_height=self.cap_height)
        require(
            self.cap[2] < self.height / 2,
            "diameter",
            self.diameter,
            f"caps must stay below height/2 = {self.height / 2:g} um",
        )
        check_sizes(self.refinement, h_substrate=self.h_substrate, h_far=self.h_far)
        h_nuc = self.h_nucleus if self.h_nucleus is not None else self.sizes()[0]
        check_sizes(self.refinement, h_nucleus=h_nuc)
        require(
            h_nuc <= self.diameter / 2,
            "h_nucleus",
            h_nuc,
            f"must be <= diameter/2 = {self.diameter / 2:g} um to resolve the nuclei",
        )
        self.centres()  # raises GeometryError if the nuclei do not fit

    def region_names(self) -> RegionNames:
        """The region names these parameters create."""
        return self.REGION_NAMES.in_dim(self.dim)

    @property
    def footprint(self) -> float:
        """Anode area (um^2) in 3D, length (um) in 2D."""
        return self.width * self.depth if self.dim == 3 else self.width

    @property
    def n(self) -> int:
        """Number of nuclei."""
        if self.density is not None:
            return round(self.density * self.footprint)
        return self.count

    @property
    def cap(self) -> tuple[float, float, float]:
        """(base radius a, sphere radius R, cap height h) in um."""
        a = self.diameter / 2
        if self.cap_height is not None:
            h = self.cap_height
            return a, (a * a + h * h) / (2 * h), h
        theta = math.radians(self.contact_angle)
        r = a / math.sin(theta)
        return a, r, r * (1 - math.cos(theta))

    @property
    def extent(self) -> float:
        """Horizontal radius (um) of a cap: a, or R when the cap overhangs (angle > 90)."""
        a, r, h = self.cap
        return r if h > r else a

    def sizes(self) -> tuple[float, float, float]:
        """(h_nucleus, h_substrate, h_far) in um before division by ``refinement``."""
        h_nuc = self.h_nucleus if self.h_nucleus is not None else self.diameter / 8
        return min(h_nuc, self.h_substrate), self.h_substrate, self.h_far

    def centres(self) -> np.ndarray:
        """(n, dim-1) array of nucleus base centres (um)."""
        n, ext, gap = self.n, self.extent, self.min_gap
        span = [self.width, self.depth][: self.dim - 1]
        if self.placement == "lattice":
            return _lattice(n, span, ext, gap)
        cover = n * (2 * ext + gap) ** (self.dim - 1) / self.footprint
        cover *= math.pi / 4 if self.dim == 3 else 1.0
        if cover > MAX_RANDOM_COVERAGE:
            raise GeometryError(
                f"count={n} nuclei of diameter={self.diameter} um (with min_gap={gap} um) cover"
                f" {cover:.0%} of the anode; random placement needs <= {MAX_RANDOM_COVERAGE:.0%}"
                " (fewer or smaller nuclei, or placement='lattice')"
            )
        rng = np.random.default_rng(self.seed)
        lo = [gap] * len(span)
        got = place_discs(rng, [ext] * n, lo, [s - gap for s in span], gap, attempts=5000)
        if got is None:
            raise GeometryError(
                f"count={n} nuclei of diameter={self.diameter} um did not fit with"
                f" min_gap={gap} um (seed={self.seed}); use fewer nuclei or placement='lattice'"
            )
        return got


def _lattice(n: int, span: list[float], ext: float, gap: float) -> np.ndarray:
    """Centres of ``n`` nuclei on a near-square grid over ``span`` (1 or 2 lengths)."""
    if len(span) == 1:
        shape = [n]
    else:
        nx = max(1, round(math.sqrt(n * span[0] / span[1])))
        shape = [nx, math.ceil(n / nx)]
    pitch = [s / k for s, k in zip(span, shape, strict=True)]
    if min(pitch) < 2 * ext + gap:
        raise GeometryError(
            f"count={n} nuclei on a {'x'.join(map(str, shape))} lattice have pitch"
            f" {min(pitch):.3g} um < diameter + min_gap = {2 * ext + gap:.3g} um"
        )
    grids = np.meshgrid(*[(np.arange(k) + 0.5) * p for k, p in zip(shape, pitch, strict=True)])
    return np.column_stack([g.ravel(order="F") for g in grids])[:n]


def _build_occ(p: NucleusArrayParams) -> int:
    """Electrolyte = box minus spheres; returns the electrolyte entity tag."""
    occ = gmsh.model.occ
    _, r, h = p.cap
    zc = h - r
    if p.dim == 3:
        box = occ.addBox(0, 0, 0, p.width, p.depth, p.height)
        tools = [(3, occ.addSphere(x, y, zc, r)) for x, y in p.centres()]
    else:
        box = occ.addRectangle(0, 0, 0, p.width, p.height)
        tools = [(2, occ.addDisk(x, zc, 0, r, r)) for (x,) in p.centres()]
    out, _ = occ.cut([(p.dim, box)], tools)
    occ.synchronize()
    if len(out) != 1:
        raise GeometryError(f"cutting the nuclei left {len(out)} electrolyte pieces, expected 1")
    return out[0][1]


def _classify(p: NucleusArrayParams) -> dict[str, list[int]]:
    """Boundary entities by bounding box: substrate, nuclei, bulk, walls."""
    d, up = p.dim - 1, p.dim - 1
    groups: dict[str, list[int]] = {k: [] for k in p.region_names().facets}
    for _, tag in gmsh.model.getEntities(d):
        lo, hi = np.split(np.array(gmsh.model.getBoundingBox(d, tag)), 2)
        if hi[0] < _EPS:
            groups["wall_left"].append(tag)
        elif lo[0] > p.width - _EPS:
            groups["wall_right"].append(tag)
        elif p.dim == 3 and hi[1] < _EPS:
            groups["wall_front"].append(tag)
        elif p.dim == 3 and lo[1] > p.depth - _EPS:
            groups["wall_back"].append(tag)
        elif lo[up] > p.height - _EPS:
            groups["bulk"].append(tag)
        elif hi[up] < _EPS:
            groups["substrate"].append(tag)
        else:
            groups["nuclei"].append(tag)
    return groups


def build_nucleus_array(params: NucleusArrayParams) -> Geometry:
    """Mesh the electrolyte above spherical-cap nuclei on a flat anode (3D, or 2D section).

    Groups: cells "electrolyte"; facets "nuclei" (cap surfaces), "substrate" (flat anode
    between nuclei), "bulk" (top), "wall_left"/"wall_right" (x = 0 / width) and in 3D
    "wall_front"/"wall_back" (y = 0 / depth).
    """
    new_model("nucleus_array")
    vol = _build_occ(params)
    groups = _classify(params)
    h_nuc, h_sub, h_far = params.sizes()
    ref, d = params.refinement, params.dim - 1
    fields = [
        graded_field(d, groups["nuclei"], h_nuc, h_far, ref),
        graded_field(d, groups["substrate"], h_sub, h_far, ref),
    ]
    set_background(fields, h_far / ref)
    cells, facets = add_regions(params.dim, {"electrolyte": [vol]}, groups, params.region_names())
    quality = mesh_and_measure(params.dim)
    feats = _features(params, groups, vol)
    return Geometry("nucleus_array", params.dim, cells, facets, feats, quality, params)


def _features(p: NucleusArrayParams, groups: dict[str, list[int]], vol: int) -> dict[str, object]:
    """Analytic and measured sizes of caps, substrate and electrolyte (um^k)."""
    a, r, h = p.cap
    n, d = p.n, p.dim
    if d == 3:
        cap_area, cap_vol, base = (
            2 * math.pi * r * h,
            math.pi * h * h * (3 * r - h) / 3,
            math.pi * a**2,
        )
    else:
        half = math.asin(a / r) if h <= r else math.pi - math.asin(a / r)
        cap_area, cap_vol, base = 2 * r * half, r * r * (2 * half - math.sin(2 * half)) / 2, 2 * a
    box = p.width * p.height * (p.depth if d == 3 else 1.0)
    return {
        "count": n,
        "centres": p.centres().tolist(),
        "base_radius": a,
        "sphere_radius": r,
        "cap_height": h,
        "contact_angle": math.degrees(math.atan2(a, r - h)),
        "footprint": p.footprint,
        "nuclei_measure": mass(d - 1, groups["nuclei"]),
        "substrate_measure": mass(d - 1, groups["substrate"]),
        "electrolyte_measure": mass(d, [vol]),
        "analytic_nuclei_measure": n * cap_area,
        "analytic_substrate_measure": p.footprint - n * base,
        "analytic_electrolyte_measure": box - n * cap_vol,
        "h_min": p.sizes()[0] / p.refinement,
    }
