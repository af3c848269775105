"""Shared Gmsh plumbing for the geometry builders: records, errors, sessions, meshing.

Everything here works in micrometres (um) on the Gmsh API; nothing imports DOLFINx or MPI.

Mesh size fields (Distance + Threshold) shared by the builders; sizes in um.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import gmsh
import numpy as np

from femli.interrupt import rearm
from femli.messages import shorten
from femli.units import um

__all__ = [
    "GRADING",
    "MAX_FEATURES",
    "MIN_ELEMENT_SIZE",
    "MIN_LENGTH",
    "WALLS",
    "WALLS_3D",
    "BuilderParams",
    "Geometry",
    "GeometryError",
    "MeshQuality",
    "RegionNames",
    "add_groups",
    "add_regions",
    "boundary_of",
    "check_sizes",
    "fail",
    "gmsh_session",
    "graded_field",
    "mass",
    "measure_quality",
    "mesh_and_measure",
    "new_model",
    "param_units",
    "place_discs",
    "require",
    "require_choice",
    "require_features",
    "require_positive",
    "require_seed",
    "set_background",
    "spread_angles",
    "threshold_field",
    "write_msh",
]

#: Smallest element size (um) a builder will accept; finer sizes mean a parameter is off.
MIN_ELEMENT_SIZE = 1.0e-3
#: Smallest length (um) a builder accepts: shorter ones were given in metres by mistake.
MIN_LENGTH = 1.0e-3
#: Most features (fibres, nuclei, voids, particles, asperities) a builder will place.
MAX_FEATURES = 10_000
#: Boundary names of the side walls at x = 0 / width, and (3D only) y = 0 / depth.
WALLS = ("wall_left", "wall_right")
WALLS_3D = ("wall_front", "wall_back")


class GeometryError(ValueError):
    """A parameter set that cannot be built (names the parameter, its value, what is allowed)."""


@dataclass(slots=True, frozen=True)
class MeshQuality:
    """Mesh quality of the top-dimensional elements (SICN and gamma in [0, 1], 1 is ideal)."""

    min_sicn: float
    mean_sicn: float
    min_gamma: float
    mean_gamma: float
    n_elements: int
    n_nodes: int


@dataclass(slots=True)
class Geometry:
    """A meshed Gmsh model (still in the gmsh session) and what the physics needs to know.

    ``cell_groups`` / ``facet_groups`` map physical-group names to Gmsh physical tags.
    ``features`` holds derived numbers (lengths in um, areas in um^2, volumes in um^3).
    """

    kind: str
    dim: int
    cell_groups: dict[str, int]
    facet_groups: dict[str, int]
    features: dict[str, Any]
    quality: MeshQuality
    params: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class RegionNames:
    """Names of a geometry's physical groups: ``cells`` (regions of the top dimension)
    and ``facets`` (boundaries, one dimension lower).

    Each builder's parameter class declares them once: ``REGION_NAMES``, every name the
    builder may create, and ``region_names()``, the names its parameters may create (each
    where the mesh has it); the builder creates its groups through :func:`add_regions`,
    which refuses any other name, and :mod:`femli.case.preflight` checks a case's region
    names against them before meshing.
    """

    cells: tuple[str, ...]
    facets: tuple[str, ...]

    def in_dim(self, dim: int) -> RegionNames:
        """The names in a ``dim``-D geometry: the front/back walls only in 3D."""
        return self if dim == 3 else self.without(*WALLS_3D)

    def without(self, *names: str) -> RegionNames:
        """These names less ``names`` (cell or facet names)."""
        return RegionNames(
            tuple(n for n in self.cells if n not in names),
            tuple(n for n in self.facets if n not in names),
        )


class BuilderParams(Protocol):
    """What every builder's parameter class has besides its parameters (um)."""

    #: Every region name the builder may create, whatever its parameters.
    REGION_NAMES: ClassVar[RegionNames]
    #: Unit of each parameter: "um" for lengths, "" for counts, choices and ratios.
    UNITS: ClassVar[dict[str, str]]
    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def dim(self) -> int:
        """2 or 3 (a frozen dataclass field: read-only)."""
        ...

    def region_names(self) -> RegionNames:
        """The region names these parameters may create."""
        ...


def fail(name: str, value: object, allowed: str) -> GeometryError:
    """Build a :class:`GeometryError` naming the parameter, its value and what is allowed."""
    return GeometryError(f"{name}={shorten(value)} is not allowed: {allowed}")


def require(ok: bool, name: str, value: object, allowed: str) -> None:
    """Raise :func:`fail` unless ``ok``."""
    if not ok:
        raise fail(name, value, allowed)


def require_choice(**values: tuple[object, Sequence[object]]) -> None:
    """Every keyword ``name=(value, allowed)`` must have its value among the allowed ones."""
    for name, (value, allowed) in values.items():
        require(value in allowed, name, value, f"one of {tuple(allowed)}")


def require_positive(**values: float) -> None:
    """Every keyword value must be a finite length (um) of at least :data:`MIN_LENGTH`."""
    for name, value in values.items():
        require(bool(np.isfinite(value)) and value > 0, name, value, "must be > 0 (um)")
        require(value >= MIN_LENGTH, name, value, _in_micrometres(value))


def _in_micrometres(value: float) -> str:
    """What is allowed for a length below :data:`MIN_LENGTH`, and the likely mistake."""
    metres = um(value)
    unit, scale = next(
        ((u, f) for u, f in (("nm", 1e-9), ("pm", 1e-12)) if metres >= f), ("fm", 1e-15)
    )
    return (
        f"must be >= {MIN_LENGTH:g} um; lengths are in micrometres (um), and {value:g} um is "
        f"{metres / scale:.3g} {unit}: was it given in metres?"
    )


def param_units(lengths: str, unitless: str, **others: str) -> dict[str, str]:
    """A builder's parameter units: ``lengths`` (space-separated names) in um, ``unitless``
    (counts, choices, ratios) "", ``others`` name -> unit."""
    return dict.fromkeys(lengths.split(), "um") | dict.fromkeys(unitless.split(), "") | others


def require_seed(seed: int) -> None:
    """A random seed: an integer >= 0."""
    require(seed >= 0, "seed", seed, "an integer >= 0")


def require_features(count: float, name: str, value: object, why: str = "") -> None:
    """At most :data:`MAX_FEATURES` features to place (``name = value`` sets the count)."""
    require(
        count <= MAX_FEATURES,
        name,
        value,
        f"{why or 'it'} gives {count:.3g} features; at most {MAX_FEATURES} can be placed"
        " and meshed",
    )


@contextlib.contextmanager
def gmsh_session(verbose: bool = False) -> Iterator[None]:
    """Initialise gmsh (if needed) for the block and finalise it afterwards if we started it."""
    started = not gmsh.isInitialized()
    if started:
        gmsh.initialize(interruptible=False)
        rearm()  # Gmsh put back the default signal actions
    gmsh.option.setNumber("General.Terminal", 1 if verbose else 0)
    try:
        yield
    finally:
        if started:
            gmsh.finalize()


def new_model(name: str) -> None:
    """Start a fresh, deterministic gmsh model named ``name`` (removes other models),
    every option at its default but the ones below and the terminal output. (A failed
    HXT run leaves state that option files do not show: the fallback mesh of the same
    surface then had no tetrahedra; after ``restoreDefaults`` it meshes.)"""
    if not gmsh.isInitialized():
        raise RuntimeError("gmsh is not initialised: use femli.geometry.gmsh_session()")
    terminal = gmsh.option.getNumber("General.Terminal")
    gmsh.clear()
    gmsh.option.restoreDefaults()
    gmsh.option.setNumber("General.Terminal", terminal)
    gmsh.model.add(name)
    for option, value in {
        "General.NumThreads": 1,
        "Mesh.RandomSeed": 1,
        "Mesh.MeshSizeExtendFromBoundary": 0,
        "Mesh.MeshSizeFromPoints": 0,
        "Mesh.MeshSizeFromCurvature": 0,
        "Mesh.Algorithm": 6,
        "Mesh.Algorithm3D": 10,
        "Mesh.Optimize": 1,
        "Geometry.OCCBoundsUseStl": 1,
    }.items():
        gmsh.option.setNumber(option, value)


def write_msh(path: str | Path) -> Path:
    """Write the current gmsh model's mesh (format 4.1, physical groups only) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gmsh.option.setNumber("Mesh.SaveAll", 0)
    gmsh.write(str(path))
    return path


def mass(dim: int, tags: Iterable[int]) -> float:
    """Total measure (length/area/volume in um^k) of OCC entities of ``dim``."""
    return float(sum(gmsh.model.occ.getMass(dim, t) for t in tags))


def boundary_of(dim: int, tags: Iterable[int]) -> list[int]:
    """Tags of the (dim-1) entities bounding the given entities (shared ones once)."""
    pairs = gmsh.model.getBoundary([(dim, t) for t in tags], combined=False, oriented=False)
    return sorted({abs(t) for _, t in pairs})


def add_groups(dim: int, groups: Mapping[str, Iterable[int]]) -> dict[str, int]:
    """Create one physical group per name (skipping empty ones); returns name -> tag.

    Raises if an entity would land in two groups (DOLFINx keeps one tag per entity).
    """
    seen: dict[int, str] = {}
    out: dict[str, int] = {}
    for name, tags in groups.items():
        tags = sorted(set(tags))
        for t in tags:
            if t in seen:
                raise RuntimeError(f"entity ({dim}, {t}) is in both {seen[t]!r} and {name!r}")
            seen[t] = name
        if tags:
            out[name] = gmsh.model.addPhysicalGroup(dim, tags, name=name)
    return out


def add_regions(
    dim: int,
    cells: Mapping[str, Iterable[int]],
    facets: Mapping[str, Iterable[int]],
    names: RegionNames,
) -> tuple[dict[str, int], dict[str, int]]:
    """The builder's physical groups (:func:`add_groups`): ``cells`` of dimension ``dim``,
    ``facets`` of ``dim - 1``; returns (cell groups, facet groups), name -> tag.

    ``names`` are the region names the builder's parameters declare
    (:class:`RegionNames`); a group of another name is a bug in the builder (RuntimeError).
    """
    out = []
    for kind, groups, declared in (("cell", cells, names.cells), ("facet", facets, names.facets)):
        groups = {n: list(tags) for n, tags in groups.items()}
        stray = [n for n, tags in groups.items() if tags and n not in declared]
        if stray:
            raise RuntimeError(f"{kind} groups {stray} are not among the declared {declared}")
        out.append(groups)
    return add_groups(dim, out[0]), add_groups(dim - 1, out[1])


def check_sizes(refinement: float, **sizes: float) -> None:
    """Validate ``refinement`` and element sizes (um) after division by it."""
    require(np.isfinite(refinement) and refinement > 0, "refinement", refinement, "must be > 0")
    for name, value in sizes.items():
        require(np.isfinite(value) and value > 0, name, value, "must be > 0 (um)")
        require(
            value / refinement >= MIN_ELEMENT_SIZE,
            name,
            value,
            f"{name}/refinement must be >= {MIN_ELEMENT_SIZE} um (the mesh would be too large)",
        )


def mesh_and_measure(dim: int) -> MeshQuality:
    """Generate the ``dim``-dimensional mesh and return its quality report."""
    gmsh.model.mesh.generate(dim)
    return measure_quality(dim)


def measure_quality(dim: int) -> MeshQuality:
    """Quality (SICN, gamma) of the current mesh's ``dim``-dimensional elements."""
    _, elem_tags, _ = gmsh.model.mesh.getElements(dim)
    tags = np.concatenate(elem_tags) if elem_tags else np.empty(0, dtype=np.uint64)
    if tags.size == 0:
        raise GeometryError(f"meshing produced no {dim}D elements")
    sicn = np.asarray(gmsh.model.mesh.getElementQualities(tags, "minSICN"))
    gamma = np.asarray(gmsh.model.mesh.getElementQualities(tags, "gamma"))
    node_tags, _, _ = gmsh.model.mesh.getNodes()
    return MeshQuality(
        min_sicn=float(sicn.min()),
        mean_sicn=float(sicn.mean()),
        min_gamma=float(gamma.min()),
        mean_gamma=float(gamma.mean()),
        n_elements=int(tags.size),
        n_nodes=len(node_tags),
    )


def place_discs(
    rng: np.random.Generator,
    radii: Iterable[float],
    lo: Sequence[float],
    hi: Sequence[float],
    gap: float,
    attempts: int = 2000,
) -> np.ndarray | None:
    """Random sequential placement of non-overlapping discs (1D intervals or 2D discs).

    Centres lie in [lo + r, hi - r]; discs keep ``gap`` between them. Returns an (n, d)
    array of centres, or None if some disc found no room after ``attempts`` tries.
    """
    lo_a, hi_a = np.asarray(lo, float), np.asarray(hi, float)
    centres = np.empty((0, lo_a.size))
    placed: list[float] = []
    for r in radii:
        for _ in range(attempts):
            c = rng.uniform(lo_a + r, hi_a - r)
            if centres.size:
                d = np.linalg.norm(centres - c, axis=1)
                if np.any(d < np.asarray(placed) + r + gap):
                    continue
            centres = np.vstack([centres, c])
            placed.append(r)
            break
        else:
            return None
    return centres


def spread_angles(rng: np.random.Generator, k: int, min_sep: float) -> np.ndarray:
    """``k`` random angles on the circle at least ``min_sep`` apart (fewer if no room)."""
    got: list[float] = []
    for _ in range(50 * k):
        if len(got) == k:
            break
        a = rng.uniform(0, 2 * math.pi)
        if all(abs((a - b + math.pi) % (2 * math.pi) - math.pi) >= min_sep for b in got):
            got.append(a)
    return np.array(got)


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


@dataclass(frozen=True, slots=True)
class RemeshSizing:
    """How a remesh sizes the elements beyond its moving boundaries.

    Args:
        kept: boundary name -> element size (um) of the boundaries that keep their own.
        refinement: the builder's refinement: its sizes were divided by it, its grading
            distances were not (:func:`graded_field`), so a remesh grades over the same
            distances (with 1 a mesh built at refinement 2.8 came back 3x coarser).
    """

    kept: Mapping[str, float] = field(default_factory=dict)
    refinement: float = 1.0

    def __post_init__(self) -> None:
        if not self.refinement > 0:
            raise ValueError(f"refinement must be > 0, got {self.refinement}")
        bad = {n: h for n, h in self.kept.items() if not h > 0}
        if bad:
            raise ValueError(f"kept element sizes must be > 0 um, got {bad}")


def remesh_fields(
    dim: int,
    by_name: Mapping[str, Sequence[int]],
    moving: Sequence[str],
    h_moving: float,
    h_far: float,
    sizing: RemeshSizing | None = None,
) -> list[int]:
    """Size fields of a remeshed shape (sizes in um): ``h_moving`` at the entities (of
    dimension ``dim``) of the ``moving`` groups, each kept group (``sizing``) at its own
    size, every one graded up to ``h_far`` as the builders grade."""
    sizing = sizing or RemeshSizing()
    r = sizing.refinement
    groups: list[tuple[Sequence[int], float]] = [
        ([t for n in moving for t in by_name.get(n, [])], h_moving)
    ]
    groups += [(by_name[n], h) for n, h in sizing.kept.items() if by_name.get(n)]
    return [graded_field(dim, tags, h * r, h_far * r, r) for tags, h in groups]
