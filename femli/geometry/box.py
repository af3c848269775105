"""Electrolyte box over an electrode surface (planar, asperities or random roughness), 2D/3D.

Lengths in micrometres. In 2D the electrode is near y = 0 and the box spans x in [0, width],
y up to ``height``; in 3D the 2D section (x-z) is extruded along y over ``depth`` (z is up).

Electrode surface profiles y(x) in micrometres: asperity placement, bump shapes, roughness.

Pure numpy (no gmsh), so the shapes can be tested and reused by several builders.
"""

from __future__ import annotations

import itertools
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
    fail,
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
    "GAUSS_SIGMAS",
    "SHAPES",
    "SPACINGS",
    "SURFACES",
    "BoxParams",
    "asperity_centres",
    "build_box",
    "bump_area",
    "gaussian_bump",
    "gaussian_bump_area",
    "rough_profile",
]

SURFACES = ("planar", "asperities", "rough")
SHAPES = ("semicircle", "triangle", "gaussian")
SPACINGS = ("regular", "random")
_EPS = 1e-6


@dataclass(slots=True, frozen=True)
class BoxParams:
    """Parameters of :func:`build_box` (lengths in um).

    ``surface``: "planar", "asperities" (``count`` bumps of ``asperity_height`` x
    ``asperity_width``, ``shape`` semicircle (a half-ellipse unless height = width/2, exact OCC
    arcs) / triangle / gaussian (sigma = width/6), ``spacing`` regular or random with
    ``min_gap``) or "rough" (zero-mean Gaussian random profile with ``rms`` and
    ``correlation_length``). Mesh sizes: ``h_electrode`` on the electrode, ``h_feature`` on
    asperities/roughness (default min(feature)/10), ``h_far`` far away; all divided by
    ``refinement``.
    """

    #: Every region name a box may create: cells, facets (3D adds the front/back walls).
    REGION_NAMES: ClassVar[RegionNames] = RegionNames(
        ("electrolyte",), ("electrode", "bulk", *WALLS, *WALLS_3D)
    )

    #: Unit of each parameter ("" for counts, choices and ratios): `femli builders`.
    UNITS: ClassVar[dict[str, str]] = param_units(
        "width height depth asperity_height asperity_width min_gap rms correlation_length"
        " h_far h_electrode h_feature",
        "dim surface count shape spacing seed refinement",
    )

    dim: int = 2
    width: float = 10.0
    height: float = 10.0
    depth: float = 10.0
    surface: str = "planar"
    count: int = 1
    asperity_height: float = 1.0
    asperity_width: float = 2.0
    shape: str = "semicircle"
    spacing: str = "regular"
    min_gap: float = 0.1
    rms: float = 0.2
    correlation_length: float = 1.0
    seed: int = 0
    h_far: float = 1.0
    h_electrode: float = 0.2
    h_feature: float | None = None
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require_choice(dim=(self.dim, (2, 3)))
        require_positive(width=self.width, height=self.height, depth=self.depth)
        require_choice(surface=(self.surface, SURFACES))
        require_seed(self.seed)
        check_sizes(self.refinement, h_far=self.h_far, h_electrode=self.h_electrode)
        if self.surface == "asperities":
            self._check_asperities()
        elif self.surface == "rough":
            require_positive(rms=self.rms, correlation_length=self.correlation_length)
            require(4 * self.rms < self.height / 2, "rms", self.rms, "4*rms must be < height/2")
        if self.h_feature is not None:
            check_sizes(self.refinement, h_feature=self.h_feature)
            size = self.feature_size()
            require(
                self.h_feature <= size / 2,
                "h_feature",
                self.h_feature,
                f"must be <= half the smallest feature ({size:g} um) to resolve it",
            )

    def _check_asperities(self) -> None:
        require_choice(shape=(self.shape, SHAPES), spacing=(self.spacing, SPACINGS))
        require(self.count >= 0, "count", self.count, "an integer >= 0")
        require_features(self.count, "count", self.count)
        require_positive(asperity_height=self.asperity_height, asperity_width=self.asperity_width)
        require(self.min_gap > 0, "min_gap", self.min_gap, "must be > 0 (um)")
        require(
            self.asperity_height < self.height / 2,
            "asperity_height",
            self.asperity_height,
            f"must be < height/2 = {self.height / 2:g} um",
        )
        # raises GeometryError when they cannot fit
        self.centres()

    def region_names(self) -> RegionNames:
        """The region names these parameters create."""
        return self.REGION_NAMES.in_dim(self.dim)

    def feature_size(self) -> float:
        """Smallest geometric feature (um) the mesh must resolve."""
        if self.surface == "asperities":
            return min(self.asperity_height, self.asperity_width)
        if self.surface == "rough":
            return min(self.correlation_length, 4 * self.rms)
        return self.height

    def centres(self) -> np.ndarray:
        """x-centres (um) of the asperities (empty unless surface = "asperities")."""
        if self.surface != "asperities":
            return np.empty(0)
        w = self.asperity_width
        return asperity_centres(self.count, w, self.width, self.spacing, self.min_gap, self.seed)

    def sizes(self) -> tuple[float, float, float]:
        """(h_feature, h_electrode, h_far) in um before division by ``refinement``."""
        feat = self.h_feature if self.h_feature is not None else self.feature_size() / 10
        return min(feat, self.h_electrode), self.h_electrode, self.h_far


def _half_ellipse(xc: float, rx: float, ry: float) -> int:
    """OCC disk centred at (xc, 0) with semi-axes rx (x) and ry (y); rotated if ry > rx."""
    if ry <= rx:
        return gmsh.model.occ.addDisk(xc, 0, 0, rx, ry)
    tag = gmsh.model.occ.addDisk(xc, 0, 0, ry, rx)
    gmsh.model.occ.rotate([(2, tag)], xc, 0, 0, 0, 0, 1, math.pi / 2)
    return tag


def _profile_pieces(p: BoxParams, h_feat: float) -> list[tuple[str, np.ndarray]]:
    """Electrode profile from x = 0 to x = width as ("line" | "spline", points) pieces."""
    w, h = p.asperity_width, p.asperity_height
    if p.surface == "rough":
        x, y = rough_profile(p.width, p.rms, p.correlation_length, p.seed, p.correlation_length / 8)
        return [("spline", np.column_stack([x, y]))]
    pieces: list[tuple[str, np.ndarray]] = []
    x0 = 0.0
    for c in p.centres():
        pieces.append(("line", np.array([[x0, 0.0], [c - w / 2, 0.0]])))
        if p.shape == "triangle":
            pieces.append(("line", np.array([[c - w / 2, 0], [c, h], [c + w / 2, 0]])))
        else:
            xs = np.linspace(c - w / 2, c + w / 2, max(41, math.ceil(w / h_feat) + 1))
            pieces.append(("spline", np.column_stack([xs, gaussian_bump(xs, c, h, w)])))
        x0 = c + w / 2
    pieces.append(("line", np.array([[x0, 0.0], [p.width, 0.0]])))
    return pieces


def _profile_surface(p: BoxParams, h_feat: float) -> int:
    """Plane surface bounded below by the profile pieces (triangle, gaussian, rough)."""
    occ = gmsh.model.occ
    curves: list[int] = []
    last = None
    pts = []
    for kind, xy in _profile_pieces(p, h_feat):
        tags: list[int] = [last] if last is not None else []
        tags += [occ.addPoint(x, y, 0) for x, y in xy[len(tags) :]]
        if kind == "spline":
            curves.append(occ.addSpline(tags))
        else:
            curves += [occ.addLine(a, b) for a, b in itertools.pairwise(tags)]
        last = tags[-1]
        pts.append(tags[0])
    top_r, top_l = occ.addPoint(p.width, p.height, 0), occ.addPoint(0, p.height, 0)
    curves += [occ.addLine(last, top_r), occ.addLine(top_r, top_l), occ.addLine(top_l, pts[0])]
    return occ.addPlaneSurface([occ.addCurveLoop(curves)])


def _surface_2d(p: BoxParams, h_feat: float) -> int:
    """Build the 2D electrolyte section (x-y plane); returns its surface tag."""
    occ = gmsh.model.occ
    if p.surface == "planar" or (p.surface == "asperities" and p.count == 0):
        return occ.addRectangle(0, 0, 0, p.width, p.height)
    if p.surface == "asperities" and p.shape == "semicircle":
        rect = occ.addRectangle(0, 0, 0, p.width, p.height)
        w, h = p.asperity_width, p.asperity_height
        disks = [(2, _half_ellipse(c, w / 2, h)) for c in p.centres()]
        out, _ = occ.cut([(2, rect)], disks)
        if len(out) != 1:
            raise fail("asperity_height", h, "asperities split the box; make them smaller")
        return out[0][1]
    return _profile_surface(p, h_feat)


def _classify(p: BoxParams) -> dict[str, list[int]]:
    """Sort the boundary entities into wall/top/electrode groups by bounding box."""
    d = p.dim - 1
    up = 1 if p.dim == 2 else 2
    groups: dict[str, list[int]] = {name: [] for name in p.region_names().facets}
    for _, tag in gmsh.model.getEntities(d):
        lo, hi = np.split(np.array(gmsh.model.getBoundingBox(d, tag)), 2)
        if p.dim == 3 and hi[1] < _EPS:
            groups["wall_front"].append(tag)
        elif p.dim == 3 and lo[1] > p.depth - _EPS:
            groups["wall_back"].append(tag)
        elif hi[0] < _EPS:
            groups["wall_left"].append(tag)
        elif lo[0] > p.width - _EPS:
            groups["wall_right"].append(tag)
        elif lo[up] > p.height - _EPS:
            groups["bulk"].append(tag)
        else:
            groups["electrode"].append(tag)
    return groups


def build_box(params: BoxParams) -> Geometry:
    """Mesh an electrolyte box over a planar / asperity / rough electrode (2D or 3D).

    Groups: cells "electrolyte"; facets "electrode" (whole bottom profile, asperities
    included), "bulk" (top), "wall_left"/"wall_right" (x = 0 / width) and in 3D also
    "wall_front"/"wall_back" (y = 0 / depth).
    """
    new_model("box")
    occ = gmsh.model.occ
    h_feat, h_el, h_far = params.sizes()
    surf = _surface_2d(params, h_feat)
    top = surf
    if params.dim == 3:
        occ.rotate([(2, surf)], 0, 0, 0, 1, 0, 0, math.pi / 2)
        top = next(t for d, t in occ.extrude([(2, surf)], 0, params.depth, 0) if d == 3)
    occ.synchronize()
    groups = _classify(params)
    up = 1 if params.dim == 2 else 2
    feat = [
        t
        for t in groups["electrode"]
        if gmsh.model.getBoundingBox(params.dim - 1, t)[3 + up] > _EPS
    ]
    ref = params.refinement
    fields = [graded_field(params.dim - 1, groups["electrode"], h_el, h_far, ref)]
    if feat:
        fields.append(graded_field(params.dim - 1, feat, h_feat, h_far, ref))
    set_background(fields, h_far / ref)
    cells, facets = add_regions(params.dim, {"electrolyte": [top]}, groups, params.region_names())
    quality = mesh_and_measure(params.dim)
    return Geometry(
        "box", params.dim, cells, facets, _features(params, groups, top), quality, params
    )


def _features(p: BoxParams, groups: dict[str, list[int]], top: int) -> dict[str, object]:
    """Derived numbers: measured and analytic sizes (um, um^2, um^3)."""
    d = p.dim
    section = p.width * p.height
    bumps = p.count * bump_area(p.shape, p.asperity_height, p.asperity_width)
    analytic = section - (bumps if p.surface == "asperities" else 0.0)
    feats: dict[str, object] = {
        "electrode_measure": mass(d - 1, groups["electrode"]),
        "electrolyte_measure": mass(d, [top]),
        "footprint": p.width * (p.depth if d == 3 else 1.0),
        "analytic_electrolyte_measure": analytic * (p.depth if d == 3 else 1.0),
        "asperity_centres": p.centres().tolist(),
        "h_min": p.sizes()[0] / p.refinement,
    }
    if p.surface == "asperities" and p.shape == "semicircle" and p.count:
        rx, ry = p.asperity_width / 2, p.asperity_height
        feats["is_circular"] = math.isclose(rx, ry)
    return feats


#: Gaussian bumps are truncated at +-3 sigma (width = 6 sigma) and shifted to meet y = 0.
GAUSS_SIGMAS = 3.0


def asperity_centres(
    count: int, width: float, span: float, spacing: str, gap: float, seed: int
) -> np.ndarray:
    """x-centres (um) of ``count`` asperities of base ``width`` on [0, span].

    ``spacing="regular"`` puts them at the middle of ``count`` equal cells; ``"random"`` uses
    random sequential placement (seeded) keeping ``gap`` between bases and from the walls.
    """
    if count == 0:
        return np.empty(0)
    if spacing == "regular":
        pitch = span / count
        if width + gap > pitch + 1e-12:
            raise GeometryError(
                f"count={count} asperities of asperity_width={width} um with min_gap={gap} um do"
                f" not fit on width={span} um (need count*(asperity_width+min_gap) <= width)"
            )
        return (np.arange(count) + 0.5) * pitch
    if count * (width + gap) + gap > span:
        raise GeometryError(
            f"count={count} asperities of asperity_width={width} um with min_gap={gap} um cannot"
            f" fit on width={span} um (need count*(asperity_width+min_gap)+min_gap <= width)"
        )
    rng = np.random.default_rng(seed)
    half = width / 2
    got = place_discs(rng, [half] * count, [gap], [span - gap], gap, attempts=5000)
    if got is None:
        raise GeometryError(
            f"count={count} asperities of asperity_width={width} um did not fit at random on"
            f" width={span} um with min_gap={gap} um after 5000 tries each; lower count or use"
            " spacing='regular'"
        )
    return np.sort(got[:, 0])


def gaussian_bump(x: np.ndarray, centre: float, height: float, width: float) -> np.ndarray:
    """Gaussian bump of ``height`` (sigma = width/6), shifted to be 0 at centre +- width/2."""
    sigma = width / (2 * GAUSS_SIGMAS)
    edge = math.exp(-0.5 * GAUSS_SIGMAS**2)
    y = np.exp(-0.5 * ((x - centre) / sigma) ** 2)
    return height * np.clip((y - edge) / (1 - edge), 0.0, None)


def gaussian_bump_area(height: float, width: float) -> float:
    """Exact area (um^2) under :func:`gaussian_bump`."""
    sigma = width / (2 * GAUSS_SIGMAS)
    edge = math.exp(-0.5 * GAUSS_SIGMAS**2)
    full = sigma * math.sqrt(2 * math.pi) * math.erf(GAUSS_SIGMAS / math.sqrt(2))
    return height * (full - width * edge) / (1 - edge)


def bump_area(shape: str, height: float, width: float) -> float:
    """Area (um^2) of one asperity cross-section of ``shape``."""
    if shape == "semicircle":
        return math.pi * height * width / 4  # half-ellipse, semi-axes width/2 and height
    if shape == "triangle":
        return height * width / 2
    return gaussian_bump_area(height, width)


def rough_profile(
    span: float, rms: float, correlation_length: float, seed: int, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Periodic Gaussian random profile on [0, span] with zero mean and exact sample ``rms``.

    Gaussian autocorrelation with ``correlation_length`` (um), sampled every ~``spacing`` um
    (the end point repeats the first, so y(0) = y(span)). Returns (x, y) in um.
    """
    n = max(16, math.ceil(span / spacing))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)
    k = np.fft.rfftfreq(n, d=span / n) * 2 * math.pi
    filt = np.exp(-((k * correlation_length) ** 2) / 8)  # sqrt of the Gaussian PSD
    y = np.fft.irfft(np.fft.rfft(noise) * filt, n)
    y -= y.mean()
    y *= rms / math.sqrt(np.mean(y**2))
    x = np.linspace(0.0, span, n + 1)
    return x, np.append(y, y[0])
