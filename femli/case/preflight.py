"""Checks of a validated case against the world, before any mesh or solve.

:func:`femli.case.schema.parse_case` checks a case file on its own; this module checks what
it refers to: the geometry builder's parameters (types, ranges, nuclei that fit), the
region names the conditions use against the names the geometry can have, the mesh
file, and the output folder. :func:`femli.pipeline.run_case` calls :func:`check_case` first,
so a bad case stops with every problem listed (a :class:`~femli.case.schema.ConfigError`)
before any work. ``femli check`` calls :func:`check_file`: every problem of a file in
one pass, the checks here included for the sections of the case that are valid.

Region names of builder geometries come from the builders' parameter classes
(:class:`femli.geometry.core.RegionNames`): the names the case's parameters may create
or, when the parameters have problems (reported too), every name the builder may create
in the case's dimension; a name outside them is certainly wrong. A name inside them that
the built mesh still lacks (e.g. ``silver`` with no Ag particles) is caught right after
meshing, before any solve, by :class:`femli.physics.model.CellModel`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from femli.case.build import geometry_params, mesh_path
from femli.case.checks import (
    growth_dimension_problems,
    read_case,
    used_regions,
    validate_case,
    warn_renamed,
)
from femli.case.schema import CaseConfig
from femli.messages import ConfigError, shorten

__all__ = [
    "MAX_CELLS",
    "builder_params",
    "builder_regions",
    "case_dim",
    "case_problems",
    "check_case",
    "check_file",
    "geometry_problems",
    "mesh_file_regions",
    "names_problems",
    "output_problems",
    "region_problems",
    "size_problems",
]

# -- geometry parameters -------------------------------------------------------------


#: Refuse builder parameters whose mesh would surely have more cells than this.
MAX_CELLS = 1.0e8


def size_problems(params: Any) -> list[str]:
    """A lower bound on the cell count (extent over the coarsest size) beyond
    :data:`MAX_CELLS`: a typo in a length or size that would mesh for ever."""
    sizes = getattr(params, "sizes", None)
    if sizes is None:
        return []
    h = max(sizes()) / getattr(params, "refinement", 1.0)
    names = [n for n in ("width", "height") if hasattr(params, n)]
    names += ["depth"] if params.dim == 3 and hasattr(params, "depth") else []
    lengths = [getattr(params, n) for n in names]
    cells = float(np.prod([max(length / h, 1.0) for length in lengths]))
    if cells <= MAX_CELLS:
        return []
    extents = " x ".join(f"{length:g}" for length in lengths)
    return [
        f"geometry.{' x '.join(names)} = {extents} um meshed with elements up to {h:g} um "
        f"needs more than {cells:.3g} cells (limit {MAX_CELLS:.0e}): check the lengths and "
        "sizes (um)"
    ]


def geometry_problems(config: CaseConfig) -> list[str]:
    """Problems of the builder parameters (none for a mesh file)."""
    return builder_params(config)[1]


def builder_params(config: CaseConfig) -> tuple[Any, list[str]]:
    """The case's validated builder parameters (None for a mesh file or parameters that
    cannot be made) and the problems of the parameters."""
    from femli.geometry import BUILDERS, GeometryError, make_params
    from femli.geometry.registry import type_problems

    if config.geometry.mesh is not None:
        return None, []
    try:
        kind, params = geometry_params(config.geometry)
        if kind not in BUILDERS:
            make_params(kind, **params)  # the unknown-kind message
        problems = [f"geometry.{p}" for p in type_problems(kind, params)]
        if problems:
            return None, problems
        made = make_params(kind, **params)
    except (GeometryError, TypeError, ValueError, OverflowError) as err:
        return None, [f"geometry: {err}"]
    return made, size_problems(made)


# -- region names --------------------------------------------------------------------
def builder_regions(config: CaseConfig, made: Any = None) -> tuple[set[str], set[str]] | None:
    """(cell names, boundary names) the case's builder may create: those its parameters
    ``made`` (validated, see :func:`builder_params`) may create, else every name of the
    builder in the case's dimension; None if unknown (the kind or its dimension is not
    valid: reported by :func:`geometry_problems`)."""
    from femli.geometry import BUILDERS, GeometryError

    if made is not None:
        names = made.region_names()
        return set(names.cells), set(names.facets)
    try:
        kind, params = geometry_params(config.geometry)
    except GeometryError:
        return None
    if kind not in BUILDERS:
        return None
    cls = BUILDERS[kind][0]
    default = {f.name: f.default for f in dataclasses.fields(cls)}["dim"]
    dim = params.get("dim", default)
    if isinstance(dim, bool) or dim not in (2, 3):
        return None
    names = cls.REGION_NAMES.in_dim(dim)
    return set(names.cells), set(names.facets)


def mesh_file_regions(path: Path) -> tuple[set[str], set[str]]:
    """(cell names, boundary names) of a Gmsh ``.msh`` file (read here; raises ValueError)."""
    dim, names = _read_groups(path)
    cells = {n for d, n in names if d == dim and n}
    if dim < 1 or not cells:
        raise ValueError(f"mesh file {str(path)!r} has no named physical groups of its dimension")
    return cells, {n for d, n in names if d == dim - 1 and n}


def _read_groups(path: Path) -> tuple[int, set[tuple[int, str]]]:
    """The dimension and the (dim, name) physical groups of a ``.msh`` file (ValueError if
    it cannot be read, has no elements, or its coordinates look like metres)."""
    import gmsh

    from femli.geometry import gmsh_session
    from femli.mesh import msh_problem

    with gmsh_session():
        try:
            gmsh.clear()
            gmsh.open(str(path))
            dim = gmsh.model.getDimension()
            problem = msh_problem(dim)
            groups = gmsh.model.getPhysicalGroups()
            names = {(d, gmsh.model.getPhysicalName(d, t)) for d, t in groups}
        except Exception as err:  # gmsh raises bare Exceptions
            raise ValueError(f"cannot read mesh file {str(path)!r}: {err}") from None
        finally:
            gmsh.clear()
    if problem is not None:
        raise ValueError(f"mesh file {str(path)!r}: {problem}")
    return dim, names


def region_problems(
    config: CaseConfig,
    cells: set[str],
    facets: set[str],
    bad: frozenset[str] = frozenset(),
    data: dict | None = None,
) -> list[str]:
    """One problem per key whose region names are not among the available ones (all its
    unknown names in one line; sections in ``bad`` read from ``data``)."""
    unknown: dict[tuple[str, str], list[str]] = {}
    for where, kind, name in used_regions(config, bad, data):
        if name not in (facets if kind == "boundary" else cells):
            unknown.setdefault((where, kind), []).append(name)
    out = []
    for (where, kind), names in unknown.items():
        have = sorted(facets if kind == "boundary" else cells)
        hint = difflib.get_close_matches(names[0][:100], have, n=1) if len(have) < 1000 else []
        one = len(names) == 1
        extra = f" Did you mean {hint[0]!r}?" if hint and one else ""
        named = f"region named {shorten(names[0])}" if one else f"regions {shorten(names)}"
        out.append(
            f"{where}: the geometry has no {kind} {named}; it can have {shorten(have, 200)}.{extra}"
        )
    return out


def names_problems(
    config: CaseConfig,
    base: Path,
    read_mesh: bool,
    bad: frozenset[str] = frozenset(),
    data: dict | None = None,
    made: Any = None,
) -> list[str]:
    """Mesh-file and region-name problems (the mesh file is read only if ``read_mesh``;
    ``bad``, ``data``: see :func:`region_problems`; ``made``: see
    :func:`builder_regions`)."""
    path = mesh_path(config, base)
    if path is None:
        regions = builder_regions(config, made)
    elif path.is_dir():
        return [f"geometry.mesh: {str(path)!r} is a directory, not a mesh file"]
    elif not path.is_file():
        return [f"geometry.mesh: mesh file {str(path)!r} does not exist"]
    elif not read_mesh:
        return []
    else:
        try:
            regions = mesh_file_regions(path)
        except ValueError as err:
            return [f"geometry.mesh: {err}"]
    return [] if regions is None else region_problems(config, *regions, bad, data)


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
    config: CaseConfig,
    base: Path = Path(),
    output: Path | None = None,
    read_mesh: bool = False,
    bad: frozenset[str] = frozenset(),
    data: dict | None = None,
) -> list[str]:
    """Every problem found (one process; no MPI). ``bad`` names sections with schema
    problems (skipped; their region names are read from the raw ``data``), see
    :func:`femli.case.schema.validate_case`."""
    problems = []
    if "geometry" not in bad:
        made, geometry = builder_params(config)
        problems += geometry + names_problems(config, base, read_mesh, bad, data, made)
        merge = "growth" not in bad and config.growth is not None and config.growth.merge_gap_um
        if merge and not geometry:
            problems += growth_dimension_problems(config, case_dim(config, base))
        if config.geometry.axisymmetric and made is not None and made.dim != 2:
            problems.append(
                f"geometry.axisymmetric = true: an r-z geometry is 2D (x = r, y = z), and "
                f"this {config.geometry.kind or 'preset'} is {made.dim}D; allowed: a 2D geometry"
            )
    if output is not None:
        problems += output_problems(output)
    return problems


def check_case(
    config: CaseConfig,
    base: Path = Path(),
    output: Path | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    read_mesh: bool = False,
    source: str | None = None,
    bad: frozenset[str] = frozenset(),
    data: dict | None = None,
) -> None:
    """Raise :class:`ConfigError` on every rank if :func:`case_problems` finds any,
    labelled ``source`` (default: the case's file, ``config.source``).

    Collective: rank 0 looks (files, folders, the mesh file) and tells the others.
    """
    problems = None
    if comm.rank == 0:
        try:
            problems = case_problems(config, Path(base), output, read_mesh, bad, data)
        except Exception as err:  # never leave the other ranks waiting
            problems = [f"{type(err).__name__}: {err}"]
    problems = comm.bcast(problems, root=0)
    if problems:
        raise ConfigError(problems, source or config.source)


def check_file(path: str | Path, comm: MPI.Comm = MPI.COMM_WORLD) -> CaseConfig:
    """Every problem of a case file in one pass (``femli check``): the file itself, the
    schema, the cross-field rules and, for the sections that are valid, the geometry
    parameters, region names and mesh file. Raises :class:`ConfigError` labelled with the
    path on every rank; returns the case. Collective."""
    path = Path(path)
    data = read_case(path)  # unreadable: nothing else can be checked
    config, bad, problems = validate_case(data)
    if config is not None:
        warn_renamed(config, str(path))
        try:
            check_case(config, path.parent, None, comm, True, str(path), bad, data)
        except ConfigError as err:
            problems += err.problems
    if problems:
        raise ConfigError(problems, str(path))
    assert config is not None  # validate_case gives no case only with problems
    config._source = str(path)
    return config
