"""Fields for ParaView: concentrations, potential, Li+ flux and current density.

Written collectively into ``<output>/fields.tmp`` and renamed to ``<output>/fields``
by rank 0 once every rank has finished, so a crash never leaves a half-written
folder in place of a complete one (:func:`femli.outputs.files.replace_dir`; a kill
between its two renames is undone at the start of the next run). Formats:

- ``solution.bp`` (VTX/ADIOS2): P1 concentrations (mol/m^3) and potential (V);
- ``vectors.bp`` (VTX): Li+ flux (mol/(m^2 s)) and current density (A/m^2) as DG1
  vectors (exact copies of the cell-wise constant P1 gradients);
- ``solution.xdmf`` + ``.h5``: the same scalars, and the vectors as DG0 cell data.

Mesh coordinates are written in metres (SI) as in the solver. ADIOS2 and HDF5 abort
the process on a full disk, so the free space is checked against an estimate of the
files' size first (:func:`fields_bytes`; :class:`~femli.outputs.disk.NoSpaceError`).
"""

from __future__ import annotations

from pathlib import Path

import dolfinx
import dolfinx.io

from femli.outputs.files import fresh_dir, replace_dir, require_space
from femli.outputs.folder import remove
from femli.parallel import on_root

__all__ = [
    "check_space",
    "fields_bytes",
    "solution_fields",
    "write_fields",
]


def _interpolated(expr, space, name: str) -> dolfinx.fem.Function:
    f = dolfinx.fem.Function(space, name=name)
    f.interpolate(dolfinx.fem.Expression(expr, space.element.interpolation_points))
    return f


def solution_fields(model) -> tuple[list, list, list]:
    """(P1 scalars, DG1 vectors, DG0 vectors) of a solved :class:`CellModel`."""
    mesh = model.domain.mesh
    gdim = mesh.geometry.dim
    scalars = [
        _interpolated(model.concentration(s.name), model.space, f"c_{s.name}")
        for s in model.electrolyte.species
    ]
    scalars.append(_interpolated(model.phi, model.space, "phi"))
    vectors = {"li_flux": model.flux(), "current_density": model.current_density()}
    dg1 = dolfinx.fem.functionspace(mesh, ("DG", 1, (gdim,)))
    dg0 = dolfinx.fem.functionspace(mesh, ("DG", 0, (gdim,)))
    v1 = [_interpolated(e, dg1, n) for n, e in vectors.items()]
    v0 = [_interpolated(e, dg0, n) for n, e in vectors.items()]
    return scalars, v1, v0


def fields_bytes(model) -> int:
    """About how many bytes :func:`write_fields` writes for ``model`` (all ranks'
    parts): VTX points (3 components) with their ids, cells, the P1 scalars and the DG1
    vectors on their own points; XDMF/HDF5 points, cells, scalars and DG0 vectors."""
    mesh = model.domain.mesh
    tdim, gdim = mesh.topology.dim, mesh.geometry.dim
    nodes = mesh.geometry.index_map().size_global
    cells = mesh.topology.index_map(tdim).size_global
    scalars = len(model.electrolyte.species) + 1
    vtk_cells = cells * (8 * (tdim + 2) + 1)  # connectivity, offsets, cell types
    p1 = nodes * (32 + 8 * scalars) + vtk_cells
    dg1 = cells * (tdim + 1) * (32 + 2 * 24) + vtk_cells
    hdf5 = nodes * 8 * (gdim + scalars) + cells * (8 * (tdim + 1) + 2 * 24)
    return p1 + dg1 + hdf5


def check_space(model, output: Path) -> None:
    """:class:`~femli.outputs.disk.NoSpaceError` on every rank unless ``output`` has
    room for the fields. Collective."""
    need = fields_bytes(model)
    on_root(model.domain.comm, lambda: require_space(output, need, "fields"))


def write_fields(model, output: Path) -> Path:
    """Write VTX and XDMF files of the solved state into ``output/fields``. Collective.

    Raises :class:`~femli.outputs.disk.NoSpaceError` (nothing written) when the
    folder lacks the room; a write that fails leaves no ``fields.tmp``."""
    comm = model.domain.comm
    final = Path(output) / "fields"
    tmp = Path(output) / "fields.tmp"
    check_space(model, output)
    on_root(comm, lambda: fresh_dir(tmp))
    try:
        scalars, v1, v0 = solution_fields(model)
        with dolfinx.io.VTXWriter(comm, tmp / "solution.bp", scalars, engine="BP4") as vtx:
            vtx.write(0.0)
        with dolfinx.io.VTXWriter(comm, tmp / "vectors.bp", v1, engine="BP4") as vtx:
            vtx.write(0.0)
        with dolfinx.io.XDMFFile(comm, tmp / "solution.xdmf", "w") as xdmf:
            xdmf.write_mesh(model.domain.mesh)
            for f in scalars + v0:
                xdmf.write_function(f, 0.0)
    except BaseException:
        if comm.rank == 0:
            remove(tmp)
        raise
    comm.barrier()
    on_root(comm, lambda: replace_dir(tmp, final))
    return final
