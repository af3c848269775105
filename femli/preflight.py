"""Checks of a validated case against the world, before any mesh or solve.

:func:`femli.config.parse_case` checks a case file on its own; this module checks what
it refers to: the geometry builder's parameters (types, ranges, nuclei that fit), the
region names the conditions use against the names the geometry can have, the mesh
file, and the output folder. ``femli check`` and ``femli run`` call
:func:`check_case`, and :func:`femli.run.run_case` calls it first, so a bad case stops
with every problem listed (a :class:`~femli.config.ConfigError`) before any work.

Region names of builder geometries come from :data:`GROUPS` (every name a builder
may create; a name outside it is certainly wrong). A name inside it that the built
mesh still lacks (e.g. ``silver`` with no Ag particles) is caught right after
meshing, before any solve, by :class:`femli.physics.model.CellModel`.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from femli.config import CaseConfig, ConfigError, GeometryConfig, growth_dimension_problems

_WALLS = ("wall_left", "wall_right")
_WALLS_3D = ("wall_front", "wall_back")

#: kind -> (cell region names, boundary names) a builder may create (3D adds the
#: front/back walls). Checked against real builds in tests/robustness.
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "box": (("electrolyte",), ("electrode", "bulk", *_WALLS)),
    "nucleus_array": (("electrolyte",), ("nuclei", "substrate", "bulk", *_WALLS)),
    "fibre_mat": (
        ("host", "particle_layer", "electrolyte"),
        ("electrode", "fibre_surface", "silver", "host_top", "particle_top", "bulk", *_WALLS),
    ),
    "layered_stack": (
        ("substrate", "porous_layer", "top_layer", "electrolyte"),
        (
            "collector",
            "electrode",
            "substrate_porous",
            "porous_top",
            "substrate_top",
            "bulk",
            "copper",  # porous_mode = "resolved": the materials as parts
            "carbon",
            "silver_particles",
            "silver_top",
            *_WALLS,
        ),
    ),
    "void_contact": (
        ("electrolyte", "lithium", "interlayer"),
        ("contact", "void", "collector", "bulk", "li_interlayer", *_WALLS),
    ),
}


# -- geometry parameters -------------------------------------------------------------
def geometry_params(geometry: GeometryConfig) -> tuple[str | None, dict[str, Any]]:
    """Builder kind and parameters of a geometry block (preset values overridden); raises
    :class:`femli.geometry.GeometryError` for an unknown preset."""
    from femli.geometry import load_preset

    kind, params = geometry.kind, {}
    if geometry.preset is not None:
        kind_preset, params = load_preset(geometry.preset)
        kind = kind or kind_preset
    params.update(geometry.params)
    return kind, params


def _accepts(value: Any, annotation: Any) -> bool:
    """Whether a TOML value fits a builder parameter annotation (float, int, str, X | None)."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    if options:
        return any(_accepts(value, a) for a in options)
    if annotation is type(None):
        return value is None
    if isinstance(value, bool):
        return annotation is bool
    if annotation is float:
        return isinstance(value, int | float)
    return isinstance(value, annotation) if isinstance(annotation, type) else True


def _type_problems(kind: str, params: dict[str, Any]) -> list[str]:
    from femli.geometry import BUILDERS

    hints = typing.get_type_hints(BUILDERS[kind][0])
    names = {float: "a number", int: "an integer", str: "a string"}
    out = []
    for key, value in params.items():
        if key in hints and not _accepts(value, hints[key]):
            wanted = " or ".join(names.get(a, "none") for a in typing.get_args(hints[key]))
            out.append(f"geometry.{key} = {value!r}: expected {wanted or names[hints[key]]}")
    return out


#: Refuse builder parameters whose mesh would surely have more cells than this.
MAX_CELLS = 1.0e8


def size_problems(params: Any) -> list[str]:
    """A lower bound on the cell count (extent over the coarsest size) beyond
    :data:`MAX_CELLS`: a typo in a length or size that would mesh for ever."""
    sizes = getattr(params, "sizes", None)
    if sizes is None:
        return []
    h = max(sizes()) / getattr(params, "refinement", 1.0)
    lengths = [getattr(params, "width", h), getattr(params, "height", h)]
    lengths += [getattr(params, "depth", h)] if params.dim == 3 else []
    cells = float(np.prod([max(length / h, 1.0) for length in lengths]))
    if cells <= MAX_CELLS:
        return []
    extents = " x ".join(f"{length:g}" for length in lengths)
    return [
        f"geometry: a {extents} um domain meshed with elements up to {h:g} um needs more than "
        f"{cells:.3g} cells (limit {MAX_CELLS:.0e}): check the lengths and sizes (um)"
    ]


def geometry_problems(config: CaseConfig) -> list[str]:
    """Problems of the builder parameters (none for a mesh file)."""
    from femli.geometry import BUILDERS, GeometryError, make_params

    if config.geometry.mesh is not None:
        return []
    try:
        kind, params = geometry_params(config.geometry)
        if kind not in BUILDERS:
            make_params(kind, **params)  # the unknown-kind message
        problems = _type_problems(kind, params)
        if not problems:
            problems = size_problems(make_params(kind, **params))
    except (GeometryError, TypeError, ValueError, OverflowError) as err:
        return [f"geometry: {err}"]
    return problems


# -- region names --------------------------------------------------------------------
def builder_regions(config: CaseConfig) -> tuple[set[str], set[str]] | None:
    """(cell names, boundary names) the case's builder may create; None if unknown."""
    from femli.geometry import make_params

    kind, params = geometry_params(config.geometry)
    if kind not in GROUPS:
        return None
    cells, facets = GROUPS[kind]
    dim = make_params(kind, **params).dim
    return set(cells), set(facets) | (set(_WALLS_3D) if dim == 3 else set())


def mesh_file_regions(path: Path) -> tuple[set[str], set[str]]:
    """(cell names, boundary names) of a Gmsh ``.msh`` file (read here; raises ValueError)."""
    dim, names = _read_groups(path)
    cells = {n for d, n in names if d == dim and n}
    if dim < 1 or not cells:
        raise ValueError(f"mesh file {str(path)!r} has no named physical groups of its dimension")
    return cells, {n for d, n in names if d == dim - 1 and n}


def _read_groups(path: Path) -> tuple[int, set[tuple[int, str]]]:
    """The dimension and the (dim, name) physical groups of a ``.msh`` file (ValueError)."""
    import gmsh

    from femli.geometry import gmsh_session

    with gmsh_session():
        try:
            gmsh.clear()
            gmsh.open(str(path))
            dim = gmsh.model.getDimension()
            groups = gmsh.model.getPhysicalGroups()
            names = {(d, gmsh.model.getPhysicalName(d, t)) for d, t in groups}
        except Exception as err:  # gmsh raises bare Exceptions
            raise ValueError(f"cannot read mesh file {str(path)!r}: {err}") from None
        finally:
            gmsh.clear()
    return dim, names


def used_regions(config: CaseConfig) -> list[tuple[str, str, str]]:
    """(where, kind, name) of every region name the case uses; kind "boundary" or "cell"."""
    used = [
        (f"electrodes[{k}].kinetics", "boundary", name)
        for k, e in enumerate(config.electrodes)
        for name in e.kinetics
    ]
    used += [
        (f"bulk[{k}].boundaries", "boundary", name)
        for k, b in enumerate(config.bulk)
        for name in b.boundaries
    ]
    used += [
        (f"electrolyte.regions[{k}].region", "cell", r.region)
        for k, r in enumerate(config.electrolyte.regions)
    ]
    return used


def region_problems(config: CaseConfig, cells: set[str], facets: set[str]) -> list[str]:
    """One problem per region name that is not among the available ones."""
    out = []
    for where, kind, name in used_regions(config):
        have = facets if kind == "boundary" else cells
        if name not in have:
            hint = difflib.get_close_matches(name, sorted(have), n=1)
            extra = f" Did you mean {hint[0]!r}?" if hint else ""
            out.append(
                f"{where}: the geometry has no {kind} region named {name!r}; "
                f"it can have {sorted(have)}.{extra}"
            )
    return out


def mesh_path(config: CaseConfig, base: Path) -> Path | None:
    """The case's mesh file (relative paths from ``base``), or None for a builder."""
    mesh = config.geometry.mesh
    if mesh is None:
        return None
    return Path(mesh) if Path(mesh).is_absolute() else Path(base) / mesh


def names_problems(config: CaseConfig, base: Path, read_mesh: bool) -> list[str]:
    """Mesh-file and region-name problems (the mesh file is read only if ``read_mesh``)."""
    path = mesh_path(config, base)
    if path is None:
        regions = builder_regions(config)
    elif not path.is_file():
        return [f"geometry.mesh: mesh file {str(path)!r} does not exist"]
    elif not read_mesh:
        return []
    else:
        try:
            regions = mesh_file_regions(path)
        except ValueError as err:
            return [f"geometry.mesh: {err}"]
    return [] if regions is None else region_problems(config, *regions)


def case_dim(config: CaseConfig, base: Path) -> int | None:
    """The geometry's dimension: the builder's ``dim``, or read from the mesh file (None
    if it cannot be read; that problem is reported elsewhere)."""
    from femli.geometry import make_params

    path = mesh_path(config, base)
    if path is None:
        kind, params = geometry_params(config.geometry)
        return make_params(kind, **params).dim
    try:
        return _read_groups(path)[0] if path.is_file() else None
    except ValueError:
        return None


# -- output folder ---------------------------------------------------------------------
def output_problems(output: Path) -> list[str]:
    """Whether ``output`` is (or can be made) a writable folder; creates it."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        return [f"output {str(output)!r} exists and is not a folder"]
    try:
        output.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".femli-probe.", suffix=".tmp", dir=output)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return [f"output folder {str(output)!r} is not writable: {err.strerror or err}"]
    return []


# -- everything ---------------------------------------------------------------------------
def case_problems(
    config: CaseConfig, base: Path = Path(), output: Path | None = None, read_mesh: bool = False
) -> list[str]:
    """Every problem found (one process; no MPI)."""
    problems = geometry_problems(config)
    if not problems:  # builder region names need valid parameters (the dimension)
        problems += names_problems(config, base, read_mesh)
    if not problems and config.growth is not None and config.growth.merge_gap:
        problems += growth_dimension_problems(config, case_dim(config, base))
    if output is not None:
        problems += output_problems(output)
    return problems


def check_case(
    config: CaseConfig,
    base: Path = Path(),
    output: Path | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    read_mesh: bool = False,
    source: str = "config",
) -> None:
    """Raise :class:`ConfigError` on every rank if :func:`case_problems` finds any.

    Collective: rank 0 looks (files, folders, the mesh file) and tells the others.
    """
    problems = None
    if comm.rank == 0:
        try:
            problems = case_problems(config, Path(base), output, read_mesh)
        except Exception as err:  # never leave the other ranks waiting
            problems = [f"{type(err).__name__}: {err}"]
    problems = comm.bcast(problems, root=0)
    if problems:
        raise ConfigError(problems, source)
