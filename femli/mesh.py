"""Meshes with named regions: the seam between Gmsh geometry and DOLFINx physics.

A :class:`Domain` carries a DOLFINx mesh in metres (SI) together with its cell and
facet tags and the Gmsh physical-group names. Physics code asks for regions by
name (``domain.ds("electrode")``); raw integer tags never leave this module.

Gmsh models are built in micrometres on rank 0 and distributed with
:func:`dolfinx.io.gmsh.model_to_mesh`; the coordinates are scaled to metres here,
once, with :data:`femli.units.MESH_UNIT`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dolfinx
import dolfinx_solver  # noqa: F401  (must precede dolfinx/petsc4py)
import numpy as np
import ufl
from mpi4py import MPI

import femli.ufl_traversers  # noqa: F401  (switches off CPython's leaking method cache)
from femli.coarse import Coarse
from femli.measures import WeightedMeasure
from femli.msh_checks import MIN_MESH_EXTENT, loose_nodes_problem, msh_problem
from femli.units import MESH_UNIT

if TYPE_CHECKING:
    from femli.split import ProjectorFactory

__all__ = [
    "MIN_MESH_EXTENT",
    "Domain",
    "Marker",
    "RegionError",
    "build_domain",
    "from_gmsh_model",
    "from_mesh",
    "msh_problem",
    "read_msh",
    "release_heap",
]

#: A geometric marker: ``f(x) -> bool array``, ``x`` the (3, n) array of points (m).
Marker = Callable[[np.ndarray], np.ndarray]


class RegionError(KeyError):
    """A region name that the mesh does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(slots=True)
class Domain:
    """A mesh in metres with named cell and facet regions.

    Attributes:
        mesh: DOLFINx mesh, coordinates in m.
        axisymmetric: the (2D) mesh is the r-z half plane of a body of revolution, x = r
            >= 0 and y = z (:meth:`make_axisymmetric`): :meth:`dx` and :meth:`ds` carry the
            weight 2 pi r, so every integral (areas, volumes, currents) is the 3D total and
            the symmetry axis r = 0 is a natural (zero-flux) boundary.
        cell_tags: cell markers (may be ``None`` for a single-region mesh).
        coarse: for a split mesh, the mesh it was split from (initial guesses).
        facet_tags: boundary facet markers.
        cell_names: region name -> cell tag value.
        facet_names: boundary name -> facet tag value.
    """

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags | None
    facet_tags: dolfinx.mesh.MeshTags | None
    cell_names: dict[str, int] = field(default_factory=dict)
    facet_names: dict[str, int] = field(default_factory=dict)
    _measure_forms: dict = field(default_factory=dict, repr=False)
    #: a 2D mesh of the r-z half plane (x = r >= 0): measures carry 2 pi r
    axisymmetric: bool = False
    #: the mesh this one was split from (:mod:`femli.coarse`), for initial guesses
    coarse: Coarse | None = field(default=None, repr=False)

    @property
    def comm(self) -> MPI.Comm:
        """The mesh's communicator."""
        return self.mesh.comm

    @property
    def dim(self) -> int:
        """Topological dimension."""
        return self.mesh.topology.dim

    def _lookup(self, names: Iterable[str], table: Mapping[str, int], kind: str) -> list[int]:
        tags = []
        for name in names:
            if name not in table:
                hint = difflib.get_close_matches(name, list(table), n=1)
                extra = f" Did you mean {hint[0]!r}?" if hint else ""
                raise RegionError(
                    f"the mesh has no {kind} region named {name!r}; it has {sorted(table)}.{extra}"
                )
            tags.append(table[name])
        return tags

    def facet_tag_values(self, *names: str) -> list[int]:
        """Tag values of the named boundaries (clear error for unknown names)."""
        return self._lookup(names, self.facet_names, "boundary")

    def cell_tag_values(self, *names: str) -> list[int]:
        """Tag values of the named cell regions (clear error for unknown names)."""
        return self._lookup(names, self.cell_names, "cell")

    def ds(self, *names: str) -> ufl.Measure:
        """Surface measure over the named boundaries (all exterior facets if none); times
        2 pi r when :attr:`axisymmetric`."""
        measure = self._weighted(
            ufl.Measure("ds", domain=self.mesh, subdomain_data=self.facet_tags)
        )
        if not names:
            return measure
        tags = tuple(self.facet_tag_values(*names))
        return measure(tags)

    def dx(self, *names: str) -> ufl.Measure:
        """Volume measure over the named cell regions (whole mesh if none); times 2 pi r
        when :attr:`axisymmetric`."""
        measure = self._weighted(ufl.Measure("dx", domain=self.mesh, subdomain_data=self.cell_tags))
        if not names:
            return measure
        return measure(tuple(self.cell_tag_values(*names)))

    def _weighted(self, measure: ufl.Measure) -> ufl.Measure:
        if not self.axisymmetric:
            return measure
        r = ufl.SpatialCoordinate(self.mesh)[0]
        return WeightedMeasure(measure, 2.0 * np.pi * r)

    def make_axisymmetric(self) -> Domain:
        """Read this 2D mesh as the r-z half plane (x = r, y = z); ``ValueError`` unless it
        is 2D with x >= 0 (up to 1e-9 of its extent). Collective; returns this domain."""
        if self.dim != 2:
            raise ValueError(f"an axisymmetric (r-z) geometry must be 2D, this one is {self.dim}D")
        x = self.mesh.geometry.x[:, 0]
        low = self.comm.allreduce(float(x.min(initial=np.inf)), op=MPI.MIN)
        high = self.comm.allreduce(float(x.max(initial=-np.inf)), op=MPI.MAX)
        if low < -1e-9 * (high - low):
            raise ValueError(
                f"an axisymmetric (r-z) geometry needs x = r >= 0, but x reaches "
                f"{low / MESH_UNIT:.4g} um: put the symmetry axis at x = 0"
            )
        self.axisymmetric = True
        self._measure_forms.clear()
        if self.coarse is not None:
            self.coarse.domain.make_axisymmetric()
        return self

    def facets(self, *names: str) -> np.ndarray:
        """Local indices of the facets in the named boundaries."""
        tags = self.facet_tag_values(*names)
        assert self.facet_tags is not None
        mask = np.isin(self.facet_tags.values, tags)
        return self.facet_tags.indices[mask]

    def cells(self, *names: str) -> np.ndarray:
        """Local indices of the cells in the named regions."""
        tags = self.cell_tag_values(*names)
        if self.cell_tags is None:
            raise RegionError("the mesh has no cell regions")
        mask = np.isin(self.cell_tags.values, tags)
        return self.cell_tags.indices[mask]

    def measure(self, *names: str, boundary: bool = True) -> float:
        """Global area/length (boundary) or volume/area (cells) of named regions, SI."""
        key = (names, boundary)
        if key not in self._measure_forms:  # compiled once; the mesh may move later
            one = dolfinx.fem.Constant(self.mesh, 1.0)
            m = self.ds(*names) if boundary else self.dx(*names)
            self._measure_forms[key] = dolfinx.fem.form(one * m)
        local = dolfinx.fem.assemble_scalar(self._measure_forms[key])
        return self.comm.allreduce(local, op=MPI.SUM)

    def footprint_area(self) -> float:
        """Lateral extent of the domain: width (2D, m) or width x depth (3D, m^2), the
        area a current per footprint refers to; pi (r_max^2 - r_min^2) in m^2 when
        :attr:`axisymmetric`. Collective."""
        x = self.mesh.geometry.x
        if self.axisymmetric:
            lo = self.comm.allreduce(float(x[:, 0].min(initial=np.inf)), op=MPI.MIN)
            hi = self.comm.allreduce(float(x[:, 0].max(initial=-np.inf)), op=MPI.MAX)
            return float(np.pi * (hi * hi - lo * lo))
        area = 1.0
        for k in range(self.dim - 1):
            lo = self.comm.allreduce(float(x[:, k].min(initial=np.inf)), op=MPI.MIN)
            hi = self.comm.allreduce(float(x[:, k].max(initial=-np.inf)), op=MPI.MAX)
            area *= hi - lo
        return area

    def num_cells_global(self) -> int:
        """Number of cells over all ranks."""
        return self.mesh.topology.index_map(self.dim).size_global

    def num_vertices_global(self) -> int:
        """Number of vertices over all ranks."""
        return self.mesh.topology.index_map(0).size_global

    def add_empty_regions(self, names: Iterable[str], floor: int = 0) -> Domain:
        """Give this domain each boundary name in ``names`` it lacks, as an empty region
        (a tag value above ``floor`` and its own that no facet carries), so conditions
        naming it integrate to zero. Returns this domain."""
        free = max([*self.facet_names.values(), floor]) + 1
        for name in names:
            if name not in self.facet_names:
                self.facet_names[name] = free
                free += 1
        if self.coarse is not None:
            self.coarse.domain.facet_names = dict(self.facet_names)
        return self

    def keep_names(self, old: Domain) -> Domain:
        """Give this domain (a new mesh of ``old``'s shape) every boundary name of ``old``
        it lacks, as empty regions with tag values above both meshes' own. Returns this
        domain."""
        return self.add_empty_regions(old.facet_names, max([*old.facet_names.values(), 0]))


def _split_groups(groups: Mapping[str, tuple[int, int]], dim: int) -> tuple[dict, dict]:
    cells = {n: g[1] for n, g in groups.items() if g[0] == dim}
    facets = {n: g[1] for n, g in groups.items() if g[0] == dim - 1}
    return cells, facets


def _from_meshdata(data, dim: int, length_unit: float) -> Domain:
    data.mesh.geometry.x[:] *= length_unit
    groups = {name: (g.dim, g.tag) for name, g in data.physical_groups.items()}
    cells, facets = _split_groups(groups, dim)
    mesh = data.mesh
    mesh.topology.create_connectivity(dim - 1, dim)
    return Domain(mesh, data.cell_tags, data.facet_tags, cells, facets)


def from_gmsh_model(
    model,
    comm: MPI.Comm,
    dim: int,
    rank: int = 0,
    length_unit: float = MESH_UNIT,
    split_levels: int = 0,
    projector: ProjectorFactory | None = None,
) -> Domain:
    """Distribute a meshed Gmsh model (built on ``rank``, lengths in um) over ``comm``,
    then split every cell ``split_levels`` times on all ranks (:mod:`femli.split`), the
    new boundary nodes put on the model's surfaces (or by ``projector``, on ``rank``).

    Collective: every rank calls it; only ``rank`` needs a populated model.

    Raises:
        ValueError: on every rank, when the model has nodes in no cell of dimension
            ``dim`` (:func:`loose_nodes_problem`; DOLFINx would abort the MPI job).
    """
    problem = loose_nodes_problem(dim) if comm.rank == rank else None
    problem = comm.bcast(problem, root=rank)
    if problem is not None:
        raise ValueError(f"the Gmsh mesh cannot be distributed: {problem}")
    data = dolfinx.io.gmsh.model_to_mesh(model, comm, rank, gdim=dim)
    dim = data.mesh.topology.dim
    if split_levels > 0:
        from femli.split import split

        groups = {name: (g.dim, g.tag) for name, g in data.physical_groups.items()}
        _, facets = _split_groups(groups, dim)
        mesh, cell_tags, facet_tags, parents = split(
            data.mesh, data.cell_tags, data.facet_tags, facets, split_levels, projector
        )
        coarse = _from_meshdata(data, dim, length_unit)
        data = data._replace(mesh=mesh, cell_tags=cell_tags, facet_tags=facet_tags)
        domain = _from_meshdata(data, dim, length_unit)
        domain.coarse = Coarse(coarse, parents, domain.mesh.geometry.x.copy())
        return domain
    return _from_meshdata(data, dim, length_unit)


def read_msh(
    path: str | Path, comm: MPI.Comm, length_unit: float = MESH_UNIT, split_levels: int = 0
) -> Domain:
    """Read a Gmsh ``.msh`` file (lengths in um) with its physical-group names; each of
    ``split_levels`` splits every cell in parallel (the file's surfaces are triangulated,
    so new boundary nodes stay on them).

    The file is opened by Gmsh on rank 0 and distributed. Collective.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file is not a readable Gmsh mesh with elements, or its
            coordinates are in metres (:func:`msh_problem`).
    """
    import gmsh

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {str(path)!r} does not exist")
    from femli.geometry import gmsh_session

    dim, error = 0, None
    with gmsh_session():
        if comm.rank == 0:
            try:
                gmsh.clear()
                gmsh.open(str(path))
                dim = gmsh.model.getDimension()
                error = msh_problem(dim, length_unit)
            except Exception as err:  # gmsh raises bare Exceptions
                error = str(err)
        dim, error = comm.bcast((dim, error), root=0)
        try:
            if error is not None:
                raise ValueError(f"cannot read mesh file {str(path)!r}: {error}")
            domain = from_gmsh_model(gmsh.model, comm, dim, 0, length_unit, split_levels)
        finally:
            if comm.rank == 0:
                gmsh.clear()
    release_heap()
    return domain


def from_mesh(
    mesh: dolfinx.mesh.Mesh,
    facet_markers: Mapping[str, Marker] | None = None,
    cell_markers: Mapping[str, Marker] | None = None,
) -> Domain:
    """Name regions of a DOLFINx mesh (already in metres) with geometric markers.

    ``facet_markers`` maps a boundary name to ``f(x) -> bool array`` over exterior
    facets; the first matching name wins. Used by verification tests and scripts
    that build meshes with :mod:`dolfinx.mesh` directly.
    """
    dim = mesh.topology.dim
    mesh.topology.create_connectivity(dim - 1, dim)
    facet_tags, facet_names = _tags_from_markers(mesh, dim - 1, facet_markers or {})
    cell_tags, cell_names = _tags_from_markers(mesh, dim, cell_markers or {})
    return Domain(mesh, cell_tags, facet_tags, cell_names, facet_names)


def _tags_from_markers(
    mesh: dolfinx.mesh.Mesh, edim: int, markers: Mapping[str, Marker]
) -> tuple[dolfinx.mesh.MeshTags | None, dict[str, int]]:
    if not markers:
        return None, {}
    indices, values, names = [], [], {}
    taken = np.zeros(0, dtype=np.int32)
    for tag, (name, marker) in enumerate(markers.items(), start=1):
        if edim == mesh.topology.dim - 1:
            ent = dolfinx.mesh.locate_entities_boundary(mesh, edim, marker)
        else:
            ent = dolfinx.mesh.locate_entities(mesh, edim, marker)
        ent = np.setdiff1d(ent, taken)
        taken = np.union1d(taken, ent)
        indices.append(ent)
        values.append(np.full(ent.size, tag, dtype=np.int32))
        names[name] = tag
    idx = np.concatenate(indices).astype(np.int32)
    val = np.concatenate(values)
    order = np.argsort(idx)
    tags = dolfinx.mesh.meshtags(mesh, edim, idx[order], val[order])
    return tags, names


def build_domain(kind: str, comm: MPI.Comm, split_levels: int = 0, **params) -> tuple[Domain, dict]:
    """Build geometry ``kind`` (lengths in um) on rank 0 and distribute it. Collective.

    Parameters are validated on every rank first, so a bad value raises the same
    :class:`femli.geometry.GeometryError` everywhere before any meshing starts.
    ``split_levels`` > 0: Gmsh meshes at ``2**split_levels`` times the element sizes and
    every cell is split that many times on all ranks, boundary nodes put back on the
    exact surfaces (:mod:`femli.split`): the same sizes, a fraction of the rank-0 time.
    Returns the domain and a summary (features, mesh quality of the Gmsh mesh, splits)
    known on all ranks.
    """
    import gmsh

    from femli.geometry import build, gmsh_session, make_params

    make_params(kind, **params)
    if split_levels > 0:  # Gmsh meshes coarser; the splits restore the sizes
        params = {**params, "refinement": params.get("refinement", 1.0) / 2**split_levels}
    summary, error = None, None
    with gmsh_session():
        if comm.rank == 0:
            try:
                built = build(kind, **params)
                summary = {
                    "kind": kind,
                    "dim": built.dim,
                    "features": built.features,
                    "quality": dataclasses.asdict(built.quality),
                }
            except Exception as err:  # reported collectively below
                error = err
        summary, error = comm.bcast((summary, error), root=0)
        if error is not None:
            raise error
        domain = from_gmsh_model(gmsh.model, comm, summary["dim"], split_levels=split_levels)
    if split_levels > 0:
        summary["split_levels"] = split_levels
    release_heap()
    return domain, summary


def release_heap() -> None:
    """Give freed heap pages back to the OS (glibc; a no-op elsewhere). Rank-local.

    Gmsh's model of a million-node mesh takes gigabytes on the meshing rank; once it is
    finalised the pages stay in the process (and in its resident memory, which the
    solver's memory then adds to) until trimmed.
    """
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
