"""Layered current-collector stack (seed 002): substrate | porous layer | top layer |
electrolyte, 2D or 3D. Lengths in micrometres; y (2D) or z (3D) is up, substrate at 0.

Two ways to represent the porous layer (``porous_mode``):

``homogenised``
    Every layer is a meshed region and the porous layer is one region (its ``porosity`` is
    passed on in ``features`` for effective-medium physics), not resolved particles.
``resolved`` (2D)
    Only the electrolyte is meshed, from the substrate surface up; the solids are holes
    bounded by named facets, so each material can carry its own kinetics: "copper" (the
    substrate where the electrolyte reaches it), "carbon" (carbon particles of the porous
    layer), "silver_particles" (Ag nanoparticles half embedded in them) and "silver_top"
    (the grains of the top layer, with gaps through which the electrolyte enters the
    porous layer; a dense top film, ``top_coverage = 1``, is only possible with no porous
    layer under it).
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
    spread_angles,
)

__all__ = [
    "INTERFACES",
    "LAYERS",
    "MAX_RANDOM_COVERAGE",
    "PARTS",
    "POROUS_MODES",
    "RESTARTS",
    "LayeredStackParams",
    "build_layered_stack",
]

_EPS = 1e-6
#: (cell name, thickness attribute), bottom to top.
LAYERS = (
    ("substrate", "substrate_thickness"),
    ("porous_layer", "porous_thickness"),
    ("top_layer", "top_thickness"),
    ("electrolyte", "electrolyte_height"),
)
POROUS_MODES = ("homogenised", "resolved")
#: Random sequential placement of discs jams near 0.547 coverage; refuse above this.
MAX_RANDOM_COVERAGE = 0.5
#: Random placements are restarted (same generator, so still deterministic) this often.
RESTARTS = 20
#: Resolved mode: facet names of the materials, as electrode parts.
PARTS = ("copper", "carbon", "silver_particles", "silver_top")


#: Facet names of the inner solid | solid interfaces (below, above).
INTERFACES = {
    ("substrate", "porous_layer"): "substrate_porous",
    ("porous_layer", "top_layer"): "porous_top",
    ("substrate", "top_layer"): "substrate_top",
}


@dataclass(slots=True, frozen=True)
class LayeredStackParams:
    """Parameters of :func:`build_layered_stack` (lengths in um).

    Seed 002 defaults: Cu ``substrate_thickness`` 4.5, porous Ag-C ``porous_thickness`` 4
    (``porosity`` 0.5, homogenised), Ag ``top_thickness`` 0.2, then ``electrolyte_height``
    10. A layer of thickness 0 is left out (not the substrate or electrolyte). Mesh sizes:
    ``h_electrode`` (default min(0.2, thinnest layer/2)) at the interfaces, ``h_far``
    elsewhere, both divided by ``refinement``.

    ``porous_mode = "resolved"`` (2D): carbon discs of ``carbon_diameter`` at random
    (``seed``, keeping ``min_gap`` from each other, the substrate and the top of the layer),
    as many as ``porosity`` leaves room for; Ag discs of ``silver_diameter`` centred on
    their rims, ``silver_fraction`` of the solid area; the top layer as grains of
    ``top_grain`` pitch covering ``top_coverage`` of the width. Mesh size ``h_particle``
    (default min(silver_diameter, top_thickness, carbon_diameter/2)/4) on every solid
    surface, ``h_far`` far away.
    """

    #: Every region name the builder may create, both modes: cells, facets (3D adds the
    #: front/back walls).
    REGION_NAMES: ClassVar[RegionNames] = RegionNames(
        tuple(name for name, _ in LAYERS),
        ("collector", "electrode", *INTERFACES.values(), "bulk", *PARTS, *WALLS, *WALLS_3D),
    )

    #: Unit of each parameter ("" for counts, choices and ratios): `femli builders`.
    UNITS: ClassVar[dict[str, str]] = param_units(
        "width depth substrate_thickness porous_thickness top_thickness electrolyte_height"
        " carbon_diameter silver_diameter top_grain min_gap h_electrode h_particle h_far",
        "dim porosity porous_mode silver_fraction top_coverage seed refinement",
    )

    dim: int = 2
    width: float = 10.0
    depth: float = 10.0
    substrate_thickness: float = 4.5
    porous_thickness: float = 4.0
    top_thickness: float = 0.2
    electrolyte_height: float = 10.0
    porosity: float = 0.5
    porous_mode: str = "homogenised"
    carbon_diameter: float = 0.5
    silver_diameter: float = 0.1
    silver_fraction: float = 0.057
    top_coverage: float = 0.8
    top_grain: float = 0.5
    min_gap: float = 0.05
    seed: int = 0
    h_electrode: float | None = None
    h_particle: float | None = None
    h_far: float = 1.0
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require_choice(dim=(self.dim, (2, 3)), porous_mode=(self.porous_mode, POROUS_MODES))
        require_positive(
            width=self.width,
            depth=self.depth,
            substrate_thickness=self.substrate_thickness,
            electrolyte_height=self.electrolyte_height,
        )
        for name in ("porous_thickness", "top_thickness"):
            require(getattr(self, name) >= 0, name, getattr(self, name), ">= 0 (0 = no layer)")
            if getattr(self, name) > 0:
                require_positive(**{name: getattr(self, name)})
        require(0 <= self.porosity < 1, "porosity", self.porosity, "in [0, 1)")
        require_seed(self.seed)
        if self.porous_mode == "resolved":
            self._check_resolved()
            return
        h = self.sizes()[0]
        check_sizes(self.refinement, h_electrode=h, h_far=self.h_far)
        thin = min(t for _, t in self.layers())
        require(h <= thin / 2, "h_electrode", h, f"<= half the thinnest layer ({thin:g} um)")

    def _check_resolved(self) -> None:
        require(self.dim == 2, "dim", self.dim, "2 with porous_mode = 'resolved'")
        require_positive(
            carbon_diameter=self.carbon_diameter,
            silver_diameter=self.silver_diameter,
            top_grain=self.top_grain,
            min_gap=self.min_gap,
        )
        require(0 < self.porosity < 1, "porosity", self.porosity, "in (0, 1) when resolved")
        require(0 <= self.silver_fraction < 1, "silver_fraction", self.silver_fraction, "in [0, 1)")
        require(0 < self.top_coverage <= 1, "top_coverage", self.top_coverage, "in (0, 1]")
        require(
            self.top_coverage < 1 or self.porous_thickness == 0 or self.top_thickness == 0,
            "top_coverage",
            self.top_coverage,
            "< 1 over a porous layer (a dense top film would seal it from the electrolyte)",
        )
        require(
            self.silver_diameter < self.carbon_diameter,
            "silver_diameter",
            self.silver_diameter,
            f"< carbon_diameter ({self.carbon_diameter:g} um)",
        )
        if self.porous_thickness > 0:
            need = self.carbon_diameter + self.silver_diameter + 2 * self.min_gap
            require(
                self.porous_thickness >= need,
                "porous_thickness",
                self.porous_thickness,
                f">= carbon_diameter + silver_diameter + 2 min_gap = {need:g} um",
            )
        if self.top_thickness > 0 and self.top_coverage < 1:
            pitch = self.width / self.n_grains()
            require(
                (1 - self.top_coverage) * pitch >= self.min_gap,
                "top_coverage",
                self.top_coverage,
                f"leaves gaps narrower than min_gap ({self.min_gap:g} um) between grains",
            )
        h = self.particle_size()
        check_sizes(self.refinement, h_particle=h, h_far=self.h_far)
        small = min(self.silver_diameter, self.top_thickness or math.inf)
        require(h <= small / 2, "h_particle", h, f"<= half the smallest solid ({small:g} um)")
        why = f"porosity over a {self.width:g} x {self.porous_thickness:g} um layer"
        require_features(self.n_carbon(), "porosity", self.porosity, why)
        self.carbon_centres()  # raises if the particles do not fit

    def layers(self) -> list[tuple[str, float]]:
        """(cell name, thickness) of the present layers, bottom to top."""
        return [(n, getattr(self, a)) for n, a in LAYERS if getattr(self, a) > 0]

    def tops(self) -> list[str]:
        """Facet name of the top of each present layer, bottom to top (homogenised): the
        interface to the layer above, "electrode" under the electrolyte, "bulk" on top."""
        names = [n for n, _ in self.layers()]
        above = [*names[1:], ""]  # nothing above the top layer: its top is "bulk"
        return [
            INTERFACES.get((n, a), "electrode" if a == "electrolyte" else "bulk")
            for n, a in zip(names, above, strict=True)
        ]

    def region_names(self) -> RegionNames:
        """The region names these parameters may create (resolved: the materials' facets
        where they are present)."""
        if self.porous_mode == "resolved":
            return RegionNames(("electrolyte",), (*PARTS, "bulk", *WALLS))
        cells = tuple(n for n, _ in self.layers())
        return RegionNames(cells, ("collector", *self.tops(), *WALLS, *WALLS_3D)).in_dim(self.dim)

    def sizes(self) -> tuple[float, float]:
        """(h_electrode, h_far) in um before division by ``refinement``."""
        thin = min(t for _, t in self.layers())
        h = self.h_electrode if self.h_electrode is not None else min(0.2, thin / 2)
        return h, self.h_far

    # -- resolved porous layer --------------------------------------------------------
    def particle_size(self) -> float:
        """Mesh size (um) on the solid surfaces of the resolved mode, before refinement."""
        if self.h_particle is not None:
            return self.h_particle
        small = min(self.silver_diameter, self.top_thickness or math.inf, self.carbon_diameter / 2)
        return small / 4

    def n_grains(self) -> int:
        """Number of top-layer grains (resolved mode)."""
        return max(1, round(self.width / self.top_grain))

    def silver_per_carbon(self) -> int:
        """Ag particles on each carbon particle for the Ag share ``silver_fraction``."""
        r, ra = self.carbon_diameter / 2, self.silver_diameter / 2
        f = self.silver_fraction
        return round(f / (1 - f) * math.pi * r * r / (math.pi * ra * ra / 2))

    def n_carbon(self) -> int:
        """Carbon particles for the target porosity (solid = carbon + outer Ag halves)."""
        if self.porous_thickness == 0:
            return 0
        r, ra = self.carbon_diameter / 2, self.silver_diameter / 2
        per = math.pi * r * r + self.silver_per_carbon() * math.pi * ra * ra / 2
        return max(1, round((1 - self.porosity) * self.width * self.porous_thickness / per))

    def carbon_centres(self) -> np.ndarray:
        """(n, 2) carbon centres (um), seeded random placement keeping ``min_gap``."""
        n, gap = self.n_carbon(), self.min_gap
        if n == 0:
            return np.empty((0, 2))
        reach = (self.carbon_diameter + self.silver_diameter) / 2
        y0 = self.substrate_thickness
        lo, hi = [gap, y0 + gap], [self.width - gap, y0 + self.porous_thickness - gap]
        cover = n * math.pi * (reach + gap / 2) ** 2 / ((hi[0] - lo[0]) * (hi[1] - lo[1]))
        rng = np.random.default_rng(self.seed)
        if cover <= MAX_RANDOM_COVERAGE:
            for _ in range(RESTARTS):
                got = place_discs(rng, [reach] * n, lo, hi, gap)
                if got is not None:
                    return got
        raise GeometryError(
            f"porosity={self.porosity} needs {n} carbon particles of carbon_diameter="
            f"{self.carbon_diameter} um (with their Ag) covering {cover:.0%} of the porous"
            f" layer with min_gap={gap} um; random placement allows"
            f" {MAX_RANDOM_COVERAGE:.0%} (raise porosity or lower min_gap)"
        )

    def silver_angles(self) -> list[list[float]]:
        """Per carbon particle, the angles (rad) of its Ag particles on the rim, seeded;
        neighbouring Ag particles keep ``min_gap`` apart."""
        rng = np.random.default_rng(self.seed + 1)
        r, ra, k = self.carbon_diameter / 2, self.silver_diameter / 2, self.silver_per_carbon()
        min_sep = 2 * math.asin(min(1.0, (ra + self.min_gap / 2) / r))
        return [spread_angles(rng, k, min_sep).tolist() for _ in self.carbon_centres()]

    def silver_centres(self) -> np.ndarray:
        """(m, 2) Ag particle centres (um) on the carbon rims."""
        r = self.carbon_diameter / 2
        out = [
            (x + r * math.cos(a), y + r * math.sin(a))
            for (x, y), angles in zip(self.carbon_centres(), self.silver_angles(), strict=True)
            for a in angles
        ]
        return np.array(out).reshape(-1, 2)

    def grains(self) -> list[tuple[float, float, float, float]]:
        """Top-layer grains (x, y, width, height) in um; none for a dense film."""
        if self.top_thickness == 0 or self.top_coverage == 1:
            return []
        n = self.n_grains()
        pitch = self.width / n
        w = self.top_coverage * pitch
        y = self.substrate_thickness + self.porous_thickness
        return [((k + 0.5) * pitch - w / 2, y, w, self.top_thickness) for k in range(n)]

    @property
    def base_height(self) -> float:
        """Bottom (um) of the meshed electrolyte in resolved mode."""
        dense = self.top_coverage == 1 and self.porous_thickness == 0
        return self.substrate_thickness + (self.top_thickness if dense else 0.0)

    @property
    def top_height(self) -> float:
        """Top (um) of the domain."""
        return sum(t for _, t in self.layers())


def _facet_name(p: LayeredStackParams, tag: int, planes: list[tuple[str, int, float]]) -> str:
    d = p.dim - 1
    lo, hi = np.split(np.array(gmsh.model.getBoundingBox(d, tag)), 2)
    for name, axis, at in planes:
        if lo[axis] > at - _EPS and hi[axis] < at + _EPS:
            return name
    raise RuntimeError(f"facet {tag} of the layered stack lies on no known plane")


def build_layered_stack(params: LayeredStackParams) -> Geometry:
    """Mesh the stacked layers (2D or 3D), or the electrolyte of a resolved stack (2D).

    Groups (homogenised): cells "substrate", "porous_layer", "top_layer" (when present) and
    "electrolyte". Facets "collector" (bottom of the substrate, y/z = 0), "electrode" (top of
    the uppermost solid layer, facing the electrolyte), "substrate_porous", "porous_top" or
    "substrate_top" (inner interfaces, when both sides exist), "bulk" (top),
    "wall_left"/"wall_right" and in 3D "wall_front"/"wall_back".

    Groups (resolved): cell "electrolyte"; facets "copper", "carbon", "silver_particles",
    "silver_top" (those present), "bulk", "wall_left", "wall_right".
    """
    if params.porous_mode == "resolved":
        return _build_resolved(params)
    new_model("layered_stack")
    p, occ, d, up = params, gmsh.model.occ, params.dim - 1, params.dim - 1
    z, tags, names = 0.0, [], []
    planes = [("wall_left", 0, 0.0), ("wall_right", 0, p.width), ("collector", up, 0.0)]
    if p.dim == 3:
        planes += [("wall_front", 1, 0.0), ("wall_back", 1, p.depth)]
    for (name, t), face in zip(p.layers(), p.tops(), strict=True):
        if p.dim == 2:
            tags.append(occ.addRectangle(0, z, 0, p.width, t))
        else:
            tags.append(occ.addBox(0, 0, z, p.width, p.depth, t))
        names.append(name)
        z += t
        planes.append((face, up, z))
    occ.fragment([(p.dim, tags[0])], [(p.dim, t) for t in tags[1:]])
    occ.synchronize()
    facets: dict[str, list[int]] = {n: [] for n, _, _ in planes}
    for _, tag in gmsh.model.getEntities(d):
        facets[_facet_name(p, tag, planes)].append(tag)
    h, hfar = p.sizes()
    inner = [t for n, ts in facets.items() if not n.startswith("wall") for t in ts]
    set_background([graded_field(d, inner, h, hfar, p.refinement)], hfar / p.refinement)
    layers = {n: [t] for n, t in zip(names, tags, strict=True)}
    cells, facet_groups = add_regions(p.dim, layers, facets, p.region_names())
    quality = mesh_and_measure(p.dim)
    feats = {
        "porosity": p.porosity,
        "layer_thickness": dict(p.layers()),
        "electrode_height": z - p.electrolyte_height,
        "electrode_measure": mass(d, facets["electrode"]),
        "h_min": h / p.refinement,
    }
    return Geometry("layered_stack", p.dim, cells, facet_groups, feats, quality, p)


def _resolved_name(p: LayeredStackParams, tag: int, silver: np.ndarray) -> str:
    """Facet name in resolved mode: planes first, then the solid the facet bounds."""
    lo, hi = np.split(np.array(gmsh.model.getBoundingBox(1, tag)), 2)
    bottom = "silver_top" if p.base_height > p.substrate_thickness else "copper"
    planes = [("wall_left", 0, 0.0), ("wall_right", 0, p.width)]
    planes += [("bulk", 1, p.top_height), (bottom, 1, p.base_height)]
    for name, axis, at in planes:
        if lo[axis] > at - _EPS and hi[axis] < at + _EPS:
            return name
    for x, y, w, h in p.grains():
        if lo[0] > x - _EPS and hi[0] < x + w + _EPS and lo[1] > y - _EPS and hi[1] < y + h + _EPS:
            return "silver_top"
    u0, u1 = gmsh.model.getParametrizationBounds(1, tag)
    mid = np.array(gmsh.model.getValue(1, tag, [(u0[0] + u1[0]) / 2]))[:2]
    if silver.size:
        gap = np.min(np.linalg.norm(silver - mid, axis=1))
        if gap < p.silver_diameter / 2 + 1e-4:
            return "silver_particles"
    return "carbon"


def _disk(x: float, y: float, radius: float, seam: float) -> int:
    """OCC disc with its seam point (where the circle starts) at angle ``seam``."""
    tag = gmsh.model.occ.addDisk(x, y, 0, radius, radius)
    if seam:
        gmsh.model.occ.rotate([(2, tag)], x, y, 0, 0, 0, 1, seam)
    return tag


def _seam_angle(angles: list[float]) -> float:
    """The middle of the widest gap between the given angles (0 if there are none)."""
    if not angles:
        return 0.0
    a = sorted(x % (2 * math.pi) for x in angles)
    gaps = [(a[(k + 1) % len(a)] - a[k]) % (2 * math.pi) or 2 * math.pi for k in range(len(a))]
    k = int(np.argmax(gaps))
    return a[k] + gaps[k] / 2


def _build_resolved(p: LayeredStackParams) -> Geometry:
    """Electrolyte of the stack with the solids as named holes (2D)."""
    new_model("layered_stack")
    # exact boxes are not needed (arcs are told apart by their midpoints) and the STL
    # boxes of hundreds of particle arcs make synchronize() take seconds
    gmsh.option.setNumber("Geometry.OCCBoundsUseStl", 0)
    occ = gmsh.model.occ
    base = occ.addRectangle(0, p.base_height, 0, p.width, p.top_height - p.base_height)
    r, ra = p.carbon_diameter / 2, p.silver_diameter / 2
    carbon, silver = p.carbon_centres(), p.silver_centres()
    holes = []
    for (x, y), angles in zip(carbon, p.silver_angles(), strict=True):
        holes.append(_disk(x, y, r, _seam_angle(angles)))
        # each Ag disc's seam points away from its carbon: no sliver edge at the cusps
        holes += [_disk(x + r * math.cos(a), y + r * math.sin(a), ra, a) for a in angles]
    holes += [occ.addRectangle(x, y, 0, w, h) for x, y, w, h in p.grains()]
    cells = occ.cut([(2, base)], [(2, t) for t in holes])[0] if holes else [(2, base)]
    occ.synchronize()
    facets: dict[str, list[int]] = {n: [] for n in p.region_names().facets}
    for _, tag in gmsh.model.getEntities(1):
        facets[_resolved_name(p, tag, silver)].append(tag)
    h, hfar = p.particle_size(), p.h_far
    solid = [t for n in PARTS for t in facets[n]]
    set_background([graded_field(1, solid, h, hfar, p.refinement)], hfar / p.refinement)
    electrolyte = {"electrolyte": [t for _, t in cells]}
    cell_groups, facet_groups = add_regions(2, electrolyte, facets, p.region_names())
    quality = mesh_and_measure(2)
    band = p.width * p.porous_thickness
    carbon_area = len(carbon) * math.pi * r * r
    silver_area = len(silver) * math.pi * ra * ra / 2  # the outer halves
    feats = {
        "porous_mode": "resolved",
        "layer_thickness": dict(p.layers()),
        "part_measure": {n: mass(1, facets[n]) for n in PARTS},
        "n_carbon": len(carbon),
        "n_silver_particles": len(silver),
        "n_grains": len(p.grains()),
        "porosity": 1 - (carbon_area + silver_area) / band if band else None,
        "silver_share_of_solid": silver_area / (carbon_area + silver_area) if band else None,
        "footprint": p.width,
        "h_min": h / p.refinement,
    }
    return Geometry("layered_stack", 2, cell_groups, facet_groups, feats, quality, p)
