"""Solid-state contact with interfacial voids (seed 004): Li | optional interlayer | solid
electrolyte, 2D or 3D. Lengths in micrometres; y (2D) or z (3D) is up, Li at the bottom.

Two ways to lose contact (``mode``):

``voids``
    Separate voids, half-ellipses (2D) or half-spheroids (3D), cut into the metal just below
    the solid electrolyte (the interlayer if there is one, else Li). Random placement of
    separate discs jams, so in 3D they cover at most :data:`MAX_VOID_COVERAGE` of the
    interface (contact fraction >= 0.5).
``islands``
    The inverted picture: a void gap of uniform depth covers the interface except for
    contact islands, Li pillars (segments in 2D, circular posts in 3D) reaching the solid
    electrolyte. Islands are the placed features, so in 3D any contact fraction up to
    :data:`MAX_VOID_COVERAGE` is reachable (the paper's 7.4 % included).

Voids are holes, not meshed. ``region`` keeps only some cells: ``"electrolyte"`` (the solid
electrolyte alone, "contact" becomes its boundary: ohmic constriction with an equipotential
metal) or ``"metal"`` (Li and interlayer alone: transport in the metal with "contact" as the
stripping interface).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import gmsh
import numpy as np

from femli.geometry.core import (
    MAX_FEATURES,
    WALLS,
    WALLS_3D,
    Geometry,
    GeometryError,
    RegionNames,
    add_regions,
    boundary_of,
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
    "MAX_VOID_COVERAGE",
    "MODES",
    "PLACEMENTS",
    "REGIONS",
    "VoidContactParams",
    "build_void_contact",
]

MAX_VOID_COVERAGE = 0.5
MODES = ("voids", "islands")
REGIONS = ("all", "metal", "electrolyte")
PLACEMENTS = ("random", "regular")
_EPS = 1e-6


@dataclass(slots=True, frozen=True)
class VoidContactParams:
    """Parameters of :func:`build_void_contact` (lengths in um).

    Layers: Li ``li_thickness``, interlayer ``interlayer_thickness`` (0 = none), solid
    electrolyte ``se_thickness``. A fraction ``contact_fraction`` of the metal | SE interface
    stays in contact. The placed features are the voids (``mode = "voids"``) or the contact
    islands (``mode = "islands"``); their widths (diameters in 3D) are lognormal with mean
    ``void_size`` and coefficient of variation ``void_size_cv``, ``count`` of them if given
    (else as many as the fraction needs), rescaled to hit the fraction exactly. Voids are
    ``void_aspect`` * half-width deep; the island gap is ``void_aspect`` * (mean island
    width) / 2 deep. Placement ``random`` (seeded, keeping ``min_gap``) or ``regular`` (a
    centred grid: one feature is centred). ``region`` ("all", "metal", "electrolyte") picks
    the cells that are meshed. Mesh sizes ``h_interface`` (default smallest feature/6),
    ``h_far``, and optionally ``h_edge`` on the contact | void edges (where current
    crowds), all divided by ``refinement``.
    """

    #: Every region name the builder may create: cells, facets (3D adds the front/back
    #: walls).
    REGION_NAMES: ClassVar[RegionNames] = RegionNames(
        ("electrolyte", "lithium", "interlayer"),
        ("contact", "void", "collector", "bulk", "li_interlayer", *WALLS, *WALLS_3D),
    )
    #: Per ``region``: the cells left out, and the facets only they had.
    LEFT_OUT: ClassVar[dict[str, tuple[str, ...]]] = {
        "all": (),
        "metal": ("electrolyte", "bulk"),
        "electrolyte": ("lithium", "interlayer", "collector", "li_interlayer"),
    }

    #: Unit of each parameter ("" for counts, choices and ratios): `femli builders`.
    UNITS: ClassVar[dict[str, str]] = param_units(
        "width depth li_thickness interlayer_thickness se_thickness void_size min_gap"
        " h_interface h_edge h_far",
        "dim contact_fraction void_size_cv void_aspect seed mode count placement region refinement",
    )

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
    mode: str = "voids"
    count: int | None = None
    placement: str = "random"
    region: str = "all"
    h_interface: float | None = None
    h_edge: float | None = None
    h_far: float = 0.8
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require_choice(
            dim=(self.dim, (2, 3)),
            mode=(self.mode, MODES),
            region=(self.region, REGIONS),
            placement=(self.placement, PLACEMENTS),
        )
        require_positive(
            width=self.width,
            depth=self.depth,
            li_thickness=self.li_thickness,
            se_thickness=self.se_thickness,
            void_size=self.void_size,
            min_gap=self.min_gap,
        )
        aspect = self.void_aspect
        require(math.isfinite(aspect) and aspect > 0, "void_aspect", aspect, "a ratio > 0")
        require(
            self.interlayer_thickness >= 0,
            "interlayer_thickness",
            self.interlayer_thickness,
            ">= 0",
        )
        if self.interlayer_thickness > 0:
            require_positive(interlayer_thickness=self.interlayer_thickness)
        require(
            0 < self.contact_fraction <= 1, "contact_fraction", self.contact_fraction, "in (0, 1]"
        )
        require(
            self.mode == "voids" or self.contact_fraction < 1,
            "contact_fraction",
            self.contact_fraction,
            "< 1 with mode = 'islands' (full contact has no islands: use mode = 'voids')",
        )
        require(self.void_size_cv >= 0, "void_size_cv", self.void_size_cv, ">= 0")
        require_seed(self.seed)
        require(
            self.count is None or (int(self.count) == self.count and self.count >= 1),
            "count",
            self.count,
            "a whole number >= 1 (or unset)",
        )
        if self.count is not None:
            require_features(self.count, "count", self.count)
        metal = self.interlayer_thickness or self.li_thickness
        deepest = self.deepest()
        require(
            deepest < metal - self.min_gap,
            "void_aspect",
            self.void_aspect,
            f"voids up to {deepest:.3g} um deep must stay within the metal layer ({metal:g} um)",
        )
        check_sizes(self.refinement, h_interface=self.sizes()[0], h_far=self.h_far)
        h, smallest = self.sizes()[0], self.smallest_feature()
        require(
            h <= smallest / 2, "h_interface", h, f"<= half the smallest feature ({smallest:.3g} um)"
        )
        if self.h_edge is not None:
            check_sizes(self.refinement, h_edge=self.h_edge)
        self.void_centres()  # raises if the features do not fit

    def region_names(self) -> RegionNames:
        """The region names these parameters may create (those of the meshed ``region``;
        no interlayer names without an interlayer)."""
        gone = self.LEFT_OUT[self.region]
        if self.interlayer_thickness == 0:
            gone += ("interlayer", "li_interlayer")
        return self.REGION_NAMES.in_dim(self.dim).without(*gone)

    @property
    def footprint(self) -> float:
        """Interface length (2D, um) or area (3D, um^2)."""
        return self.width * (self.depth if self.dim == 3 else 1.0)

    @property
    def interface_height(self) -> float:
        """Height (um) of the metal | solid-electrolyte interface."""
        return self.li_thickness + self.interlayer_thickness

    def void_sizes(self) -> np.ndarray:
        """Widths / diameters (um) of the placed features (voids, or islands in
        ``islands`` mode), lognormal, rescaled to the exact contact fraction; largest first."""
        f = self.contact_fraction
        target = (f if self.mode == "islands" else 1 - f) * self.footprint
        if target <= 0:
            return np.empty(0)
        rng = np.random.default_rng(self.seed)
        sigma = math.sqrt(math.log1p(self.void_size_cv**2))
        mu = math.log(self.void_size) - sigma**2 / 2
        measure = (lambda s: s) if self.dim == 2 else (lambda s: math.pi * s * s / 4)
        sizes: list[float] = []
        if self.count is not None:
            sizes = [float(x) for x in rng.lognormal(mu, sigma, int(self.count))]
        else:
            why = "contact_fraction with this void_size (and void_size_cv)"
            require_features(target / measure(self.void_size), "void_size", self.void_size, why)
            total = 0.0
            while total < target:
                sizes.append(float(rng.lognormal(mu, sigma)))
                total += measure(sizes[-1])
                if len(sizes) > MAX_FEATURES:  # a wide spread of sizes: many tiny ones
                    require_features(len(sizes), "void_size_cv", self.void_size_cv, why)
        scale = target / sum(measure(s) for s in sizes)
        return np.sort(np.array(sizes) * (scale if self.dim == 2 else math.sqrt(scale)))[::-1]

    def gap_depth(self) -> float:
        """Depth (um) of the void gap around the islands (``islands`` mode), else 0."""
        s = self.void_sizes()
        if self.mode != "islands" or not s.size:
            return 0.0
        return self.void_aspect * float(s.mean()) / 2

    def deepest(self) -> float:
        """Depth (um) of the deepest void below the interface."""
        if self.mode == "islands":
            return self.gap_depth()
        return self.void_aspect * float(self.void_sizes().max(initial=0.0)) / 2

    def smallest_feature(self) -> float:
        """Smallest feature width or twice-depth (um; widths only when only the solid
        electrolyte is meshed); the layer thickness if there are no features."""
        s = self.void_sizes()
        if not s.size:
            return min(self.li_thickness, self.se_thickness)
        if self.region == "electrolyte":  # the void shapes below the interface are not meshed
            return float(s.min())
        if self.mode == "islands":
            return min(float(s.min()), 2 * self.gap_depth())
        return float(s.min()) * min(1.0, self.void_aspect)

    def sizes(self) -> tuple[float, float]:
        """(h_interface, h_far) in um before division by ``refinement``."""
        auto = self.smallest_feature() / 6
        h = self.h_interface if self.h_interface is not None else auto
        return min(h, self.h_far), self.h_far

    def _regular_centres(self, s: np.ndarray) -> np.ndarray:
        """Centres on a centred grid (one cell per feature, row-major), or raise."""
        n, gap = s.size, self.min_gap
        if self.dim == 2:
            pitch = [self.width / n]
            cells: list[tuple[float, ...]] = [((k + 0.5) * pitch[0],) for k in range(n)]
        else:
            m = math.ceil(math.sqrt(n))
            pitch = [self.width / m, self.depth / m]
            cells = [
                ((i + 0.5) * pitch[0], (j + 0.5) * pitch[1]) for j in range(m) for i in range(m)
            ]
        if float(s.max()) + gap > min(pitch):
            raise GeometryError(
                f"placement='regular': {n} features up to {s.max():.3g} um wide do not fit"
                f" grid cells of {min(pitch):.3g} um with min_gap={gap} um (raise"
                " contact_fraction / count or use placement='random')"
            )
        return np.array(cells[:n], dtype=float)

    def void_centres(self) -> np.ndarray:
        """(n, dim-1) feature centres (um) on the interface."""
        s, gap = self.void_sizes(), self.min_gap
        if not s.size:
            return np.empty((0, self.dim - 1))
        if self.placement == "regular":
            return self._regular_centres(s)
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
        what = "islands" if self.mode == "islands" else "voids"
        hint = (
            "lower contact_fraction or void_size/min_gap"
            if self.mode == "islands"
            else "raise contact_fraction, lower void_size/min_gap, or use mode='islands'"
        )
        raise GeometryError(
            f"contact_fraction={self.contact_fraction} needs {s.size} {what} of mean"
            f" void_size={float(s.mean()):.3g} um covering {cover:.0%} of the interface with"
            f" min_gap={gap} um; they cannot be placed apart ({hint})"
        )


def _void_bodies(p: VoidContactParams) -> list[tuple[int, int]]:
    """OCC bodies to cut from the metal: the voids, or the gap slab minus the islands."""
    occ, dim, yi = gmsh.model.occ, p.dim, p.interface_height
    bodies = []
    if p.mode == "islands":
        g = p.gap_depth()
        if dim == 2:
            slab = occ.addRectangle(0, yi - g, 0, p.width, g)
        else:
            slab = occ.addBox(0, 0, yi - g, p.width, p.depth, g)
        posts = []
        for c, s in zip(p.void_centres(), p.void_sizes(), strict=True):
            if dim == 2:
                posts.append(occ.addRectangle(c[0] - s / 2, yi - g, 0, s, g))
            else:
                posts.append(occ.addCylinder(c[0], c[1], yi - g, 0, 0, g, s / 2))
        if not posts:
            return [(dim, slab)]
        cut, _ = occ.cut([(dim, slab)], [(dim, t) for t in posts])
        return cut
    for c, s in zip(p.void_centres(), p.void_sizes(), strict=True):
        rx, ry = s / 2, p.void_aspect * s / 2
        if dim == 2:
            if ry <= rx:
                bodies.append((dim, occ.addDisk(c[0], yi, 0, rx, ry)))
            else:
                bodies.append((dim, occ.addDisk(c[0], yi, 0, ry, rx)))
                occ.rotate([bodies[-1]], c[0], yi, 0, 0, 0, 1, math.pi / 2)
        else:
            bodies.append((dim, occ.addSphere(c[0], c[1], yi, rx)))
            occ.dilate([bodies[-1]], c[0], c[1], yi, 1, 1, ry / rx)
    return bodies


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
    metal = layers[-2]
    voids = _void_bodies(p)
    cut = occ.cut([(dim, metal)], voids)[0] if voids else [(dim, metal)]
    others = [(dim, t) for t in layers if t != metal]
    cells, _ = occ.fragment(cut, others)
    occ.synchronize()
    return cells


def _cell_groups(p: VoidContactParams, cells: list[tuple[int, int]]) -> dict[str, list[int]]:
    """lithium / interlayer / electrolyte (the solid electrolyte) by vertical centre."""
    up = p.dim - 1
    out: dict[str, list[int]] = {name: [] for name in p.REGION_NAMES.cells}
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


def _keep_region(p: VoidContactParams, cells: dict[str, list[int]]) -> None:
    """Remove the cells ``region`` leaves out (shared facets and their tags survive)."""
    drop = [name for name in p.LEFT_OUT[p.region] if name in cells]
    gone = [(p.dim, t) for name in drop for t in cells[name]]
    for name in drop:
        cells[name] = []
    if gone:
        gmsh.model.removeEntities(gone, recursive=True)


def build_void_contact(params: VoidContactParams) -> Geometry:
    """Mesh Li | (interlayer) | solid electrolyte with interfacial voids (2D or 3D).

    Groups: cells "lithium", "interlayer" (if thickness > 0), "electrolyte" (the solid
    electrolyte: it is the only electrolyte, so generic physics finds it by that name), those
    of ``region`` only. Facets "contact" (metal | SE in contact), "void" (void surfaces, metal
    and SE sides), "collector" (bottom of the Li, y/z = 0), "bulk" (top of the SE, counter
    electrode side), "li_interlayer" (Li | interlayer), "wall_left"/"wall_right" and in 3D
    "wall_front"/"wall_back", each where the meshed cells have it.
    """
    new_model("void_contact")
    p, d = params, params.dim - 1
    cells = _cell_groups(p, _occ(p))
    facets: dict[str, list[int]] = {k: [] for k in p.REGION_NAMES.in_dim(p.dim).facets}
    se = set(cells["electrolyte"])
    for _, tag in gmsh.model.getEntities(d):
        facets[_facet_name(p, tag, se)].append(tag)
    _keep_region(p, cells)
    alive = {t for _, t in gmsh.model.getEntities(d)}
    facets = {k: [t for t in v if t in alive] for k, v in facets.items()}
    h, hfar = p.sizes()
    fields = [graded_field(d, facets["contact"] + facets["void"], h, hfar, p.refinement)]
    edges = sorted(set(boundary_of(d, facets["contact"])) & set(boundary_of(d, facets["void"])))
    if p.h_edge is not None and edges:
        fields.append(graded_field(d - 1, edges, min(p.h_edge, hfar), hfar, p.refinement))
    set_background(fields, hfar / p.refinement)
    cell_groups, facet_groups = add_regions(p.dim, cells, facets, p.region_names())
    quality = mesh_and_measure(p.dim)
    contact = mass(d, facets["contact"])
    perimeter = sum(gmsh.model.occ.getMass(d - 1, t) for t in edges) if p.dim == 3 else len(edges)
    feats = {
        "mode": p.mode,
        "region": p.region,
        "contact_fraction": contact / p.footprint,
        "contact_fraction_target": p.contact_fraction,
        "n_voids" if p.mode == "voids" else "n_islands": int(p.void_sizes().size),
        "void_sizes": p.void_sizes().tolist(),
        "void_centres": p.void_centres().tolist(),
        "gap_depth": p.gap_depth(),
        "contact_measure": contact,
        "void_measure": mass(d, facets["void"]),
        "contact_edge_measure": float(perimeter),
        "footprint": p.footprint,
        "h_min": min(h, p.h_edge or h) / p.refinement,
    }
    return Geometry("void_contact", p.dim, cell_groups, facet_groups, feats, quality, p)
