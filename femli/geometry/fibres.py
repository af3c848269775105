"""Fibre-mat bilayer host on Li (seed 000): carbon fibres with Ag nanoparticles, a Li3PO4-like
particle layer above them, and free electrolyte on top. 2D cross-section or 3D crossed layers.

Lengths in micrometres. The fibres and Ag particles are not meshed: they are holes in the
electrolyte-filled host, bounded by "fibre_surface" and "silver" facets.
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
    "AG_OFFSET",
    "MAX_RANDOM_COVERAGE",
    "RESTARTS",
    "FibreMatParams",
    "build_fibre_mat",
]

#: Ag particle centres sit this many Ag radii outside the fibre surface (0: half embedded).
AG_OFFSET = 0.0
#: Random sequential placement of discs jams near 0.547 coverage; refuse above this.
MAX_RANDOM_COVERAGE = 0.5
#: Random placements are restarted (same generator, so still deterministic) this often.
RESTARTS = 20


@dataclass(slots=True, frozen=True)
class FibreMatParams:
    """Parameters of :func:`femli.geometry.build_fibre_mat` (lengths in um).

    Layers from the Li electrode (y = 0 in 2D, z = 0 in 3D) up: fibre host of
    ``host_thickness``, particle layer of ``particle_thickness``, electrolyte up to
    ``height``. Fibres of ``fibre_diameter``: ``count`` of them or enough for the host
    ``porosity`` (count wins if given); 2D random non-overlapping discs, 3D crossed layers of
    cylinders along x and y. Ag particles of ``silver_diameter`` sit on the fibres,
    ``silver_density`` per um of fibre perimeter (2D) or per um^2 of fibre surface (3D).
    Everything keeps ``min_gap`` from everything else. Mesh sizes ``h_fibre`` (default
    fibre_diameter/8, /5 in 3D), ``h_silver`` (silver_diameter/4, /3 in 3D),
    ``h_electrode``, ``h_far``, all divided by ``refinement``.
    """

    #: Every region name the builder may create: cells, facets (3D adds the front/back
    #: walls).
    REGION_NAMES: ClassVar[RegionNames] = RegionNames(
        ("electrolyte", "host", "particle_layer"),
        (
            "electrode",
            "fibre_surface",
            "silver",
            "host_top",
            "particle_top",
            "bulk",
            *WALLS,
            *WALLS_3D,
        ),
    )

    #: Unit of each parameter ("" for counts, choices and ratios): `femli builders`.
    UNITS: ClassVar[dict[str, str]] = param_units(
        "width depth height host_thickness particle_thickness fibre_diameter silver_diameter"
        " min_gap h_fibre h_silver h_electrode h_far",
        "dim porosity count seed refinement",
        silver_density="1/um2 (3D), 1/um (2D)",
    )

    dim: int = 2
    width: float = 10.0
    depth: float = 10.0
    height: float = 10.0
    host_thickness: float = 2.5
    particle_thickness: float = 1.0
    fibre_diameter: float = 0.5
    porosity: float = 0.8
    count: int | None = None
    silver_diameter: float = 0.15
    silver_density: float = 1.0
    min_gap: float = 0.2
    seed: int = 0
    h_fibre: float | None = None
    h_silver: float | None = None
    h_electrode: float = 0.2
    h_far: float = 1.0
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require_choice(dim=(self.dim, (2, 3)))
        require_positive(
            width=self.width,
            depth=self.depth,
            host_thickness=self.host_thickness,
            particle_thickness=self.particle_thickness,
            fibre_diameter=self.fibre_diameter,
            silver_diameter=self.silver_diameter,
            min_gap=self.min_gap,
        )
        top = self.host_thickness + self.particle_thickness
        require(self.height > top, "height", self.height, f"must exceed the layers ({top:g} um)")
        require(0 < self.porosity < 1, "porosity", self.porosity, "strictly between 0 and 1")
        require(self.silver_density >= 0, "silver_density", self.silver_density, ">= 0")
        need = 2 * self.silver_ridge + 0.02
        require(
            self.min_gap >= need,
            "min_gap",
            self.min_gap,
            f">= silver_diameter + 0.02 = {need:g} um so Ag particles cannot touch",
        )
        room = self.host_thickness - 2 * self.min_gap
        require(
            self.fibre_diameter <= room,
            "fibre_diameter",
            self.fibre_diameter,
            f"must fit in the host: <= host_thickness - 2*min_gap = {room:g} um",
        )
        h = self.sizes()
        check_sizes(self.refinement, h_fibre=h[0], h_silver=h[1], h_electrode=h[2], h_far=h[3])
        require(h[1] <= self.silver_diameter / 2, "h_silver", h[1], "<= silver_diameter/2")
        require(h[0] <= self.fibre_diameter / 2, "h_fibre", h[0], "<= fibre_diameter/2")
        require_seed(self.seed)
        n = self.n_fibres((self.width + self.depth) / 2 if self.dim == 3 else 1.0)
        given: tuple[str, object] = (
            ("count", self.count) if self.count is not None else ("porosity", self.porosity)
        )
        require_features(n, *given, f"{given[0]} over a {self.width:g} um wide host")
        self.layout()  # raises GeometryError if the fibres do not fit

    def region_names(self) -> RegionNames:
        """The region names these parameters may create ("silver" where there are Ag
        particles)."""
        return self.REGION_NAMES.in_dim(self.dim)

    @property
    def silver_ridge(self) -> float:
        """How far (um) an Ag particle sticks out of its fibre."""
        return (1 + AG_OFFSET) * self.silver_diameter / 2

    def sizes(self) -> tuple[float, float, float, float]:
        """(h_fibre, h_silver, h_electrode, h_far) in um before division by ``refinement``."""
        coarse = self.dim == 3
        hf = (
            self.h_fibre if self.h_fibre is not None else self.fibre_diameter / (5 if coarse else 8)
        )
        hs = (
            self.h_silver
            if self.h_silver is not None
            else self.silver_diameter / (3 if coarse else 4)
        )
        return hf, hs, self.h_electrode, self.h_far

    @property
    def host_measure(self) -> float:
        """Host layer area (2D, um^2) or volume (3D, um^3) including fibres."""
        return self.width * self.host_thickness * (self.depth if self.dim == 3 else 1.0)

    def n_fibres(self, length: float = 1.0) -> int:
        """Fibre count for ``count`` or the target porosity (fibres of ``length`` in 3D).

        The solid per fibre includes the outer half of its Ag particles."""
        if self.count is not None:
            return self.count
        r, ra = self.fibre_diameter / 2, self.silver_diameter / 2
        if self.dim == 2:
            ag = round(self.silver_density * 2 * math.pi * r) * math.pi * ra**2 / 2
            per_fibre = math.pi * r * r + ag
        else:
            ag = self.silver_density * 2 * math.pi * r * 2 * math.pi * ra**3 / 3
            per_fibre = (math.pi * r * r + ag) * length
        return max(1, round((1 - self.porosity) * self.host_measure / per_fibre))

    def layout(self) -> list[tuple[int, float, float]]:
        """Fibre axes: (direction, lateral position, height) in um.

        Direction 2 means a 2D disc centred at (lateral, height); in 3D direction 0 is a
        cylinder along x at (y = lateral, z = height), 1 is along y at (x = lateral, z).
        """
        return self._layout_2d() if self.dim == 2 else self._layout_3d()

    def _layout_2d(self) -> list[tuple[int, float, float]]:
        r, gap, n = self.fibre_diameter / 2, self.min_gap, self.n_fibres()
        area = (self.width - gap) * (self.host_thickness - gap)
        cover = n * math.pi * (r + gap / 2) ** 2 / area
        if cover > MAX_RANDOM_COVERAGE:
            raise self._overfull(n, f"{cover:.0%} of the host (random placement allows 50%)")
        rng = np.random.default_rng(self.seed)
        hi = [self.width - gap, self.host_thickness - gap]
        for _ in range(RESTARTS):
            got = place_discs(rng, [r] * n, [gap, gap], hi, gap, attempts=2000)
            if got is not None:
                break
        else:
            raise self._overfull(n, f"random placement jammed {RESTARTS} times")
        return [(2, float(x), float(y)) for x, y in got]

    def _layout_3d(self) -> list[tuple[int, float, float]]:
        d, gap = self.fibre_diameter, self.min_gap
        n_layers = max(1, math.floor((self.host_thickness - gap) / (d + gap)))
        length = (self.width + self.depth) / 2
        n = self.n_fibres(length)
        rng = np.random.default_rng(self.seed)
        out: list[tuple[int, float, float]] = []
        pitch = (self.host_thickness - gap) / n_layers
        for k in range(n_layers):
            axis = k % 2
            span = self.depth if axis == 0 else self.width
            m = n // n_layers + (1 if k < n % n_layers else 0)
            if m * (d + gap) + gap > span:
                raise self._overfull(n, f"{m} fibres per layer do not fit across {span:g} um")
            step = (span - gap) / m
            slack = (step - d - gap) / 2
            got = gap / 2 + (np.arange(m) + 0.5) * step + rng.uniform(-slack, slack, m)
            z = gap / 2 + (k + 0.5) * pitch
            out += [(axis, float(s), z) for s in got]
        return out

    def _overfull(self, n: int, why: str) -> GeometryError:
        what = f"count={self.count}" if self.count is not None else f"porosity={self.porosity}"
        return GeometryError(
            f"{what} needs {n} fibres of fibre_diameter={self.fibre_diameter} um with"
            f" min_gap={self.min_gap} um: {why}; they cannot be placed without overlapping"
            " (raise porosity, thin the fibres or thicken the host)"
        )

    def silver_sites(self) -> list[np.ndarray]:
        """Per fibre, the Ag particle centres ((k, dim) arrays in um), seeded and disjoint."""
        rng = np.random.default_rng(self.seed + 1)
        r, ra = self.fibre_diameter / 2, self.silver_diameter / 2
        rc = r + AG_OFFSET * ra
        out = []
        for axis, s, z in self.layout():
            if axis == 2:
                k = round(self.silver_density * 2 * math.pi * r)
                ang = spread_angles(rng, k, 2 * math.asin(min(1.0, (ra + 0.02) / rc)))
                out.append(np.column_stack([s + rc * np.cos(ang), z + rc * np.sin(ang)]))
                continue
            length = self.width if axis == 0 else self.depth
            k = round(self.silver_density * 2 * math.pi * r * length)
            out.append(_sites_on_cylinder(rng, k, axis, s, z, rc, length, ra))
        return out


def _sites_on_cylinder(
    rng: np.random.Generator,
    k: int,
    axis: int,
    s: float,
    z: float,
    rc: float,
    length: float,
    ra: float,
) -> np.ndarray:
    """``k`` Ag centres on a cylinder (axis 0: along x at y = s; 1: along y at x = s)."""
    pts: list[np.ndarray] = []
    for _ in range(50 * k):
        if len(pts) == k:
            break
        t = rng.uniform(ra + 0.1, length - ra - 0.1)
        a = rng.uniform(0, 2 * math.pi)
        lateral, up = s + rc * math.cos(a), z + rc * math.sin(a)
        p = np.array([t, lateral, up]) if axis == 0 else np.array([lateral, t, up])
        if all(np.linalg.norm(p - q) >= 2 * ra + 0.02 for q in pts):
            pts.append(p)
    return np.array(pts).reshape(-1, 3)


_EPS = 1e-6


def _occ_host(p: FibreMatParams) -> list[tuple[int, int]]:
    """Add the three layers, cut fibres and Ag out of the host, fragment; returns cells."""
    occ = gmsh.model.occ
    dim = p.dim
    r, ra = p.fibre_diameter / 2, p.silver_diameter / 2
    if dim == 2:
        slabs = [occ.addRectangle(0, z0, 0, p.width, dz) for z0, dz in _slabs(p)]
        holes = [occ.addDisk(x, y, 0, r, r) for _, x, y in p.layout()]
        holes += [occ.addDisk(x, y, 0, ra, ra) for s in p.silver_sites() for x, y in s]
    else:
        slabs = [occ.addBox(0, 0, z0, p.width, p.depth, dz) for z0, dz in _slabs(p)]
        holes = [_cylinder(p, axis, s, z, r) for axis, s, z in p.layout()]
        for (axis, s, z), sites in zip(p.layout(), p.silver_sites(), strict=True):
            holes += [_silver_sphere(c, axis, s, z, ra) for c in sites]
    host, _ = occ.cut([(dim, slabs[0])], [(dim, h) for h in holes])
    cells, _ = occ.fragment(host, [(dim, s) for s in slabs[1:]])
    occ.synchronize()
    return cells


def _slabs(p: FibreMatParams) -> list[tuple[float, float]]:
    """(bottom, thickness) of host, particle layer and electrolyte (um)."""
    th, tp = p.host_thickness, p.particle_thickness
    return [(0.0, th), (th, tp), (th + tp, p.height - th - tp)]


def _silver_sphere(c: np.ndarray, axis: int, s: float, z: float, ra: float) -> int:
    """Ag sphere at ``c`` with its poles along the fibre normal (keeps OCC's pole/seam away
    from the sphere-cylinder intersection, which otherwise breaks surface meshing)."""
    n = c - (np.array([c[0], s, z]) if axis == 0 else np.array([s, c[1], z]))
    n /= np.linalg.norm(n)
    tag = gmsh.model.occ.addSphere(*c, ra)
    rot = np.cross([0.0, 0.0, 1.0], n)
    if np.linalg.norm(rot) > 1e-12:
        angle = math.acos(float(np.clip(n[2], -1.0, 1.0)))
        gmsh.model.occ.rotate([(3, tag)], *c, *rot, angle)
    elif n[2] < 0:
        gmsh.model.occ.rotate([(3, tag)], *c, 1.0, 0.0, 0.0, math.pi)
    return tag


def _cylinder(p: FibreMatParams, axis: int, s: float, z: float, r: float) -> int:
    """Fibre cylinder through the whole box along x (axis 0) or y (axis 1)."""
    if axis == 0:
        return gmsh.model.occ.addCylinder(0, s, z, p.width, 0, 0, r)
    return gmsh.model.occ.addCylinder(s, 0, z, 0, p.depth, 0, r)


def _classify_cells(p: FibreMatParams, cells: list[tuple[int, int]]) -> dict[str, list[int]]:
    """Host / particle_layer / electrolyte by the vertical centre of each cell's box."""
    up = p.dim - 1
    out: dict[str, list[int]] = {name: [] for name in p.region_names().cells}
    for d, t in cells:
        bb = gmsh.model.getBoundingBox(d, t)
        mid = (bb[up] + bb[3 + up]) / 2
        name = "host" if mid < p.host_thickness else "particle_layer"
        out["electrolyte" if mid > p.host_thickness + p.particle_thickness else name].append(t)
    return out


def _facet_name(p: FibreMatParams, tag: int, silver: np.ndarray) -> str:
    """Group name of boundary entity ``tag`` (dimension dim-1)."""
    d, up = p.dim - 1, p.dim - 1
    lo, hi = np.split(np.array(gmsh.model.getBoundingBox(d, tag)), 2)
    planes = [("wall_left", 0, 0.0), ("wall_right", 0, p.width)]
    if p.dim == 3:
        planes += [("wall_front", 1, 0.0), ("wall_back", 1, p.depth)]
    th = p.host_thickness
    planes += [("electrode", up, 0.0), ("host_top", up, th)]
    planes += [("particle_top", up, th + p.particle_thickness), ("bulk", up, p.height)]
    for name, axis, at in planes:
        if lo[axis] > at - _EPS and hi[axis] < at + _EPS:
            return name
    lo_u, hi_u = gmsh.model.getParametrizationBounds(d, tag)
    xyz = np.array(gmsh.model.getValue(d, tag, (np.asarray(lo_u) + hi_u) / 2))[: p.dim]
    ra = p.silver_diameter / 2
    if silver.size and np.min(np.abs(np.linalg.norm(silver - xyz, axis=1) - ra)) < 1e-6:
        return "silver"
    return "fibre_surface"


def build_fibre_mat(params: FibreMatParams) -> Geometry:
    """Mesh the bilayer host: fibre layer (pores), particle layer, electrolyte (2D or 3D).

    Groups: cells "host" (electrolyte-filled pores of the fibre layer), "particle_layer"
    (Li3PO4-like layer, homogenised), "electrolyte" (free electrolyte above). Facets
    "electrode" (Li surface under the host, y/z = 0), "fibre_surface" (carbon fibres),
    "silver" (Ag particles), "host_top" (host | particle_layer), "particle_top"
    (particle_layer | electrolyte), "bulk" (top), "wall_left"/"wall_right" (x = 0/width),
    3D also "wall_front"/"wall_back" (y = 0/depth).
    """
    new_model("fibre_mat")
    p, d = params, params.dim - 1
    cells = _classify_cells(p, _occ_host(p))
    silver = np.concatenate([*p.silver_sites(), np.empty((0, 3))[:, : p.dim]])
    facets: dict[str, list[int]] = {k: [] for k in p.region_names().facets}
    for _, tag in gmsh.model.getEntities(d):
        facets[_facet_name(p, tag, silver)].append(tag)
    hf, hs, he, hfar = p.sizes()
    ref = p.refinement
    fields = [
        graded_field(d, facets[k], h, hfar, ref)
        for k, h in (("fibre_surface", hf), ("silver", hs), ("electrode", he))
        if facets[k]
    ]
    fields.append(graded_field(d, facets["host_top"] + facets["particle_top"], 2 * he, hfar, ref))
    set_background(fields, hfar / ref)
    cell_groups, facet_groups = add_regions(p.dim, cells, facets, p.region_names())
    quality = mesh_and_measure(p.dim)
    feats = _features(p, cells, facets, len(silver))
    return Geometry("fibre_mat", p.dim, cell_groups, facet_groups, feats, quality, p)


def _features(
    p: FibreMatParams, cells: dict[str, list[int]], facets: dict[str, list[int]], n_ag: int
) -> dict[str, object]:
    """Porosity achieved, counts and measures (um^k)."""
    d = p.dim
    host = mass(d, cells["host"])
    return {
        "porosity": host / p.host_measure,
        "porosity_target": p.porosity if p.count is None else None,
        "n_fibres": len(p.layout()),
        "n_silver": n_ag,
        "total_thickness": p.host_thickness + p.particle_thickness,
        "host_measure": host,
        "electrode_measure": mass(d - 1, facets["electrode"]),
        "fibre_surface_measure": mass(d - 1, facets["fibre_surface"]),
        "silver_measure": mass(d - 1, facets["silver"]),
        "h_min": min(p.sizes()) / p.refinement,
    }
