"""Fields of a solved state as files that ``pyvista.read`` and ParaView open directly.

``write_fields`` writes ``<output>/fields/``:

- ``solution.vtu``: the electrolyte mesh with point data ``c_<species> (mol/m3)`` (each
  species), ``phi (V)``, ``flux_<reacting ion> (mol/m2/s)`` and ``current_density
  (mA/cm2)`` (vectors: each node the volume-weighted mean of the cell values around it)
  and the cell-wise vectors (at each cell's midpoint: its mean) as cell data of the
  same names;
- ``electrode_<name>.vtp``: each electrode's surface (:mod:`femli.outputs.surface`).

Coordinates are in micrometres (field data ``length_unit = "um"``); everything else is
in the unit its array name states. The data of every rank are gathered on rank 0, which
writes each file atomically (:mod:`femli.outputs.vtkfiles`), so a file from a run on
``n`` ranks is the same single file as from a serial run. The folder is written as
``<output>/fields.tmp`` and renamed to ``<output>/fields`` once complete, so a crash
never leaves a half-written folder in place of a complete one
(:func:`femli.outputs.files.replace_dir`). The free space is checked first against an
estimate of the files' size (:func:`fields_bytes`; :class:`~femli.outputs.disk.NoSpaceError`).
"""

from __future__ import annotations

from pathlib import Path

import dolfinx
import dolfinx.plot
import numpy as np
import ufl

from femli.outputs.files import fresh_dir, replace_dir, require_space
from femli.outputs.folder import remove
from femli.outputs.quantities import (
    AXISYMMETRIC,
    CURRENT,
    PHI,
    concentration_name,
    flux_name,
    p1_values,
)
from femli.outputs.surface import electrode_surfaces
from femli.outputs.vtkfiles import describe, write_dataset
from femli.parallel import gather, on_root
from femli.units import to_um

__all__ = [
    "cell_vectors",
    "check_space",
    "fields_bytes",
    "gather_grid",
    "lumped_vectors",
    "volume_grid",
    "write_fields",
]


def cell_vectors(exprs: list, mesh) -> tuple[list[np.ndarray], np.ndarray]:
    """Vector UFL expressions at the midpoint of each owned cell, each of shape
    (cells, 3), and the cells' measures (m^3; m^2 in 2D), from one
    :class:`dolfinx.fem.Expression` evaluated once for all of them."""
    tdim, gdim = mesh.topology.dim, mesh.geometry.dim
    n = mesh.topology.index_map(tdim).size_local
    parts = [e[k] for e in exprs for k in range(gdim)] + [ufl.CellVolume(mesh)]
    ref = np.full((1, tdim), 1.0 / (tdim + 1))
    compiled = dolfinx.fem.Expression(ufl.as_vector(parts), ref)
    values = compiled.eval(mesh, np.arange(n, dtype=np.int32)).reshape(n, -1).real
    out = []
    for j in range(len(exprs)):
        v = np.zeros((n, 3))
        v[:, :gdim] = values[:, j * gdim : (j + 1) * gdim]
        out.append(v)
    volumes = values[:, -1].copy()
    del values  # (cells x 7 in 3D): gone before the caller's next arrays
    return out, volumes


def lumped_vectors(cell_values: list[np.ndarray], volumes: np.ndarray, space) -> list[np.ndarray]:
    """Cell-wise vectors (one row per owned cell, e.g. from :func:`cell_vectors`)
    averaged onto the P1 nodes, each cell weighted by its measure ``volumes`` (the lumped
    L2 projection of a cell-wise constant field): (local dofs, 3) each, ghosts filled
    from their owners. Collective."""
    width = 3 * len(cell_values) + 1  # the weight sum last
    dofs = space.dofmap.list[: volumes.size]
    sums = dolfinx.la.vector(space.dofmap.index_map, bs=width)
    size = sums.array.size // width
    table = sums.array.reshape(size, width)
    columns = [volumes] + [v[:, k] for v in cell_values for k in range(3)]
    for j, column in enumerate(columns):  # one column at a time: no (cells x width) copy
        weighted = column * volumes if j else column
        for corner in dofs.T:  # each cell's nodes, one corner at a time
            table[:, j - 1] += np.bincount(corner, weights=weighted, minlength=size)
    sums.scatter_reverse(dolfinx.la.InsertMode.add)
    sums.scatter_forward()
    weight = table[:, -1]
    return [table[:, 3 * j : 3 * j + 3] / weight[:, None] for j in range(len(cell_values))]


def gather_grid(space, point: dict[str, np.ndarray], cell: dict[str, np.ndarray]):
    """One ``pyvista.UnstructuredGrid`` of the whole mesh on rank 0 (None elsewhere), its
    points the global P1 dofs (coordinates in um, each once), with ``point`` arrays (one
    row per local dof) and ``cell`` arrays (one row per owned cell). Collective."""
    mesh = space.mesh
    tdim = mesh.topology.dim
    imap = space.dofmap.index_map
    n_owned, n_cells = imap.size_local, mesh.topology.index_map(tdim).size_local
    per_cell, table, types = _connectivity(space, n_cells)
    start = imap.local_range[0]
    coords = space.tabulate_dof_coordinates()[:n_owned]
    owned = {k: np.asarray(v)[:n_owned] for k, v in point.items()}
    cdata = {k: np.asarray(v)[:n_cells] for k, v in cell.items()}
    parts = gather(mesh.comm, (start, coords, owned, (per_cell, table), types, cdata))
    if parts is None:  # not rank 0
        return None
    return _assemble(parts, imap.size_global)


#: VTK cell types of the P1 simplices by topological dimension (their vertex order is
#: DOLFINx's).
VTK_SIMPLEX = {1: 3, 2: 5, 3: 10}  # VTK_LINE, VTK_TRIANGLE, VTK_TETRA


def _connectivity(space, n_cells: int) -> tuple[int, np.ndarray, np.ndarray]:
    """(points per cell, the owned cells' points as global indices (flat), VTK cell
    types): a P1 simplex space's dofmap as it is (32-bit while the indices fit), any
    other space through :func:`dolfinx.plot.vtk_mesh`."""
    tdim = space.mesh.topology.dim
    imap = space.dofmap.index_map
    dofs = space.dofmap.list[:n_cells]
    if dofs.shape[1] == tdim + 1 and space.mesh.topology.cell_type.name in (
        "interval",
        "triangle",
        "tetrahedron",
    ):
        table = dofs.ravel() if space.mesh.comm.size == 1 else imap.local_to_global(dofs.ravel())
        if imap.size_global <= np.iinfo(np.int32).max:
            table = table.astype(np.int32, copy=False)
        return tdim + 1, table, np.full(1, VTK_SIMPLEX[tdim], dtype=np.uint8)
    cells, types, _ = dolfinx.plot.vtk_mesh(space, np.arange(n_cells, dtype=np.int32))  # type: ignore[arg-type]
    width = int(cells[0]) + 1 if cells.size else 1
    return width - 1, imap.local_to_global(cells.reshape(-1, width)[:, 1:].ravel()), types


def _assemble(parts: list, size: int):
    """The grid of :func:`gather_grid` from every rank's part (rank 0)."""
    import pyvista

    if len(parts) == 1:  # serial: the arrays as they are, no copies
        _, x, point, (per_cell, connectivity), types, cell = parts[0]
    else:
        x = np.zeros((size, 3))
        point = {k: np.zeros((size, *v.shape[1:])) for k, v in parts[0][2].items()}
        for start, coords, owned, *_ in parts:
            x[start : start + len(coords)] = coords
            for k, v in owned.items():
                point[k][start : start + len(v)] = v
        per_cell = parts[0][3][0]
        connectivity = np.concatenate([p[3][1] for p in parts])
        types = np.concatenate([p[4] for p in parts])
        cell = {k: np.concatenate([p[5][k] for p in parts]) for k in parts[0][5]}
    grid = pyvista.wrap(_vtk_grid(to_um(x), connectivity, per_cell, types))
    for k, v in point.items():
        grid.point_data[k] = v
    for k, v in cell.items():
        grid.cell_data[k] = v
    return grid


def _vtk_grid(points: np.ndarray, connectivity: np.ndarray, per_cell: int, types: np.ndarray):
    """A ``vtkUnstructuredGrid`` of cells of ``per_cell`` points each, built from the flat
    ``connectivity`` (global point indices) without VTK's padded legacy cell list."""
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk

    grid = vtk.vtkUnstructuredGrid()
    vtk_points = vtk.vtkPoints()
    vtk_points.SetData(numpy_to_vtk(np.ascontiguousarray(points), deep=True))
    grid.SetPoints(vtk_points)
    n = connectivity.size // per_cell if per_cell else 0
    kind = vtk.VTK_TYPE_INT32 if connectivity.dtype == np.int32 else vtk.VTK_TYPE_INT64
    offsets = np.arange(0, per_cell * n + 1, max(per_cell, 1), dtype=connectivity.dtype)
    cells = vtk.vtkCellArray()  # 32-bit storage for 32-bit indices: half the memory
    ids = np.ascontiguousarray(connectivity)
    cells.SetData(
        numpy_to_vtk(offsets, deep=True, array_type=kind),
        numpy_to_vtk(ids, deep=True, array_type=kind),
    )
    if np.all(types == types[0]):
        grid.SetCells(int(types[0]), cells)
    else:
        grid.SetCells(numpy_to_vtk(types.astype(np.uint8), deep=True), cells)
    return grid


def volume_grid(model, t: float | None = None):
    """The electrolyte fields of ``model`` as one grid on rank 0 (None elsewhere): the
    arrays listed in the module doc, field data ``length_unit``, ``time_s``, ``model`` and
    ``reacting_ion``. Collective."""
    space = model.space
    reacting = model.electrolyte.reacting
    point = {
        concentration_name(s.name): p1_values(model.concentration(s.name), space)
        for s in model.electrolyte.species
    }
    point[PHI] = model.phi.x.array.real.copy()
    names, scales = [flux_name(reacting), CURRENT], [1.0, 0.1]  # current: A/m2 -> mA/cm2
    values, volumes = cell_vectors([model.flux(), model.current_density()], model.domain.mesh)
    for scale, v in zip(scales, values, strict=True):
        v *= scale
    point.update(zip(names, lumped_vectors(values, volumes, space), strict=True))
    grid = gather_grid(space, point, dict(zip(names, values, strict=True)))
    if grid is not None:
        notes = {"axisymmetric": AXISYMMETRIC} if model.domain.axisymmetric else {}
        describe(grid, t, model=str(model.model), reacting_ion=reacting, **notes)
    return grid


def fields_bytes(model) -> int:
    """About how many bytes :func:`write_fields` writes for ``model`` (all ranks' parts,
    before compression): points, cells (64-bit ids), scalars and vectors (point and cell
    data), raw binary; the electrode surfaces are small beside them."""
    mesh = model.domain.mesh
    tdim = mesh.topology.dim
    nodes = model.space.dofmap.index_map.size_global
    cells = mesh.topology.index_map(tdim).size_global
    scalars = len(model.electrolyte.species) + 1
    per_node = 8 * (3 + scalars + 6)
    per_cell = 8 * (tdim + 2) + 1 + 8 * 6
    return nodes * per_node + cells * per_cell + 2**16


def check_space(model, output: Path) -> None:
    """:class:`~femli.outputs.disk.NoSpaceError` on every rank unless ``output`` has
    room for the fields. Collective."""
    need = fields_bytes(model)
    on_root(model.domain.comm, lambda: require_space(output, need, "fields"))


def write_fields(model, output: Path, currents=None, scene: tuple | None = None) -> Path:
    """Write ``solution.vtu`` and ``electrode_<name>.vtp`` into ``output/fields``.
    Collective (``currents``: the run's :class:`ElectrodeCurrents`, made if not given;
    ``scene``: the gathered (grid, surfaces) if the caller has them, e.g. from
    :func:`femli.outputs.pictures.gather_scene`, which the pictures use too).

    Raises :class:`~femli.outputs.disk.NoSpaceError` (nothing written) when the
    folder lacks the room; a write that fails leaves no ``fields.tmp``."""
    from femli.physics.derived import ElectrodeCurrents

    comm = model.domain.comm
    final = Path(output) / "fields"
    tmp = Path(output) / "fields.tmp"
    check_space(model, output)
    if scene is None:
        scene = volume_grid(model), electrode_surfaces(model, currents or ElectrodeCurrents(model))
    grid, surfaces = scene

    def write() -> None:
        fresh_dir(tmp)
        try:
            write_dataset(grid, tmp / "solution.vtu")
            for name, surface in surfaces.items():
                write_dataset(surface, tmp / f"electrode_{name}.vtp")
        except BaseException:
            remove(tmp)
            raise
        replace_dir(tmp, final)

    on_root(comm, write)
    return final
