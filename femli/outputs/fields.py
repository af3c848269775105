"""Fields of a solved state as files that ``pyvista.read`` and ParaView open directly.

``write_fields`` writes ``<output>/fields/``:

- ``solution.vtu``: the electrolyte mesh with point data ``c_<species> (mol/m3)`` (each
  species), ``phi (V)``, ``flux_<reacting ion> (mol/m2/s)`` and ``current_density
  (mA/cm2)`` (vectors: the lumped L2 projection of the cell-wise constant P1 gradients
  onto the nodes) and the exact cell-wise vectors as cell data of the same names;
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
from femli.parallel import on_root
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


def lumped_vectors(expr, space) -> np.ndarray:
    """A vector UFL expression projected onto the P1 nodes with a lumped mass matrix
    (the cell-volume-weighted mean of the cells around each node): (local dofs, 3)."""
    mesh = space.mesh
    v = ufl.TestFunction(space)
    gdim = mesh.geometry.dim
    forms = [v * ufl.dx(domain=mesh)] + [expr[k] * v * ufl.dx(domain=mesh) for k in range(gdim)]
    columns = []
    for form in forms:
        vec = dolfinx.fem.assemble_vector(dolfinx.fem.form(form))
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        vec.scatter_forward()
        columns.append(vec.array.real.copy())
    out = np.zeros((columns[0].size, 3))
    for k in range(gdim):
        out[:, k] = columns[k + 1] / columns[0]
    return out


def cell_vectors(expr, mesh) -> np.ndarray:
    """A vector UFL expression at the midpoint of each owned cell, shape (cells, 3)."""
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local
    ref = np.full((1, tdim), 1.0 / (tdim + 1))
    values = dolfinx.fem.Expression(expr, ref).eval(mesh, np.arange(n, dtype=np.int32))
    values = values.reshape(n, -1)
    out = np.zeros((n, 3))
    out[:, : values.shape[1]] = values
    return out


def gather_grid(space, point: dict[str, np.ndarray], cell: dict[str, np.ndarray]):
    """One ``pyvista.UnstructuredGrid`` of the whole mesh on rank 0 (None elsewhere), its
    points the global P1 dofs (coordinates in um, each once), with ``point`` arrays (one
    row per local dof) and ``cell`` arrays (one row per owned cell). Collective."""
    mesh = space.mesh
    tdim = mesh.topology.dim
    imap = space.dofmap.index_map
    n_owned, n_cells = imap.size_local, mesh.topology.index_map(tdim).size_local
    cells, types, _ = dolfinx.plot.vtk_mesh(space, np.arange(n_cells, dtype=np.int32))  # type: ignore[arg-type]
    width = int(cells[0]) + 1 if cells.size else 1
    table = cells.reshape(-1, width).copy()
    table[:, 1:] = imap.local_to_global(table[:, 1:].ravel()).reshape(-1, width - 1)
    start = imap.local_range[0]
    coords = space.tabulate_dof_coordinates()[:n_owned]
    owned = {k: np.asarray(v)[:n_owned] for k, v in point.items()}
    cdata = {k: np.asarray(v)[:n_cells] for k, v in cell.items()}
    parts = mesh.comm.gather((start, coords, owned, table, types, cdata), root=0)
    if mesh.comm.rank != 0:
        return None
    return _assemble(parts, imap.size_global)


def _assemble(parts: list, size: int):
    """The grid of :func:`gather_grid` from every rank's part (rank 0)."""
    import pyvista

    x = np.zeros((size, 3))
    point = {k: np.zeros((size, *v.shape[1:])) for k, v in parts[0][2].items()}
    for start, coords, owned, *_ in parts:
        x[start : start + len(coords)] = coords
        for k, v in owned.items():
            point[k][start : start + len(v)] = v
    cells = np.concatenate([p[3] for p in parts]).ravel()
    types = np.concatenate([p[4] for p in parts])
    grid = pyvista.UnstructuredGrid(cells, types, to_um(x))
    for k, v in point.items():
        grid.point_data[k] = v
    for k in parts[0][5]:
        grid.cell_data[k] = np.concatenate([p[5][k] for p in parts])
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
    vectors = {flux_name(reacting): (model.flux(), 1.0), CURRENT: (model.current_density(), 0.1)}
    for name, (expr, scale) in vectors.items():
        point[name] = scale * lumped_vectors(expr, space)
    cell = {
        name: scale * cell_vectors(e, model.domain.mesh) for name, (e, scale) in vectors.items()
    }
    grid = gather_grid(space, point, cell)
    if grid is not None:
        notes = {"axisymmetric": AXISYMMETRIC} if model.domain.axisymmetric else {}
        describe(grid, t, model=str(model.model), reacting_ion=reacting, **notes)
    return grid


def fields_bytes(model) -> int:
    """About how many bytes :func:`write_fields` writes for ``model`` (all ranks' parts,
    before compression): points, cells, scalars and vectors (point and cell data), base64
    text; the electrode surfaces are small beside them."""
    mesh = model.domain.mesh
    tdim = mesh.topology.dim
    nodes = model.space.dofmap.index_map.size_global
    cells = mesh.topology.index_map(tdim).size_global
    scalars = len(model.electrolyte.species) + 1
    per_node = 8 * (3 + scalars + 6)
    per_cell = 8 * (tdim + 2) + 1 + 8 * 6
    return int(4 / 3 * (nodes * per_node + cells * per_cell)) + 2**16


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
