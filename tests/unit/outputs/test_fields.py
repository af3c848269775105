"""Field files open with ``pyvista.read`` and hold the solved state: the electrolyte
(``fields/solution.vtu``) and each electrode's surface (``fields/electrode_<name>.vtp``),
the same single files from a serial and a 2-rank run."""

from __future__ import annotations

import re

import numpy as np
import pytest
from mpi4py import MPI
from shared_cases import NUCLEI_3D

from femli.mesh import build_domain
from femli.outputs.fields import write_fields
from femli.outputs.quantities import (
    CURRENT,
    DEPOSITION,
    OVERPOTENTIAL,
    PHI,
    VELOCITY,
    concentration_name,
    flux_name,
)
from femli.outputs.surface import node_weights
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer, Tafel
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver

NUCLEI = NUCLEI_3D


@pytest.fixture(scope="module")
def solved():
    """A solved 3D nucleus array (deposition on the nuclei, Tafel on the substrate)."""
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, **NUCLEI)
    electrode = Electrode(
        "anode",
        {
            "nuclei": ButlerVolmer(30.0, 1.5, 0.5, concentration_dependent=True),
            "substrate": Tafel(3.0, 0.5),
        },
        current_density=-50.0,
    )
    model = CellModel(domain, binary(1000.0, 5e-10, 5e-10), [electrode], [Bulk(("bulk",))])
    solver = StationarySolver(model)
    solver.solve()
    return solver, electrode


def _global(values: np.ndarray) -> np.ndarray:
    return np.concatenate(MPI.COMM_WORLD.allgather(values))


@pytest.mark.mpi
def test_fields_open_with_pyvista_and_hold_the_solved_state(solved, mpi_tmp_path):
    import pyvista

    solver, electrode = solved
    model = solver.model
    folder = write_fields(model, mpi_tmp_path, solver.currents)
    # the solved state, gathered from every rank
    space = model.space
    owned = space.dofmap.index_map.size_local
    c = model.unknowns[0].x.array[:owned]
    phi = model.phi.x.array[:owned]
    nodal = solver.currents.nodal(electrode)
    deposition = _global(-nodal.values) / 10.0  # mA/cm2
    weights = _global(nodal.weights)
    c_all, phi_all = _global(c), _global(phi)
    if MPI.COMM_WORLD.rank != 0:
        return
    grid = pyvista.read(folder / "solution.vtu")
    assert grid.n_points == space.dofmap.index_map.size_global  # each node once
    assert grid.n_cells == model.domain.num_cells_global()
    assert str(grid.field_data["length_unit"][0]) == "um"
    assert grid.bounds[1] == pytest.approx(NUCLEI["width"]) and grid.bounds[5] == pytest.approx(2.0)
    c_file = grid.point_data[concentration_name("Li+")]
    assert c_file.min() == pytest.approx(c_all.min(), rel=1e-12)
    assert c_file.max() == pytest.approx(c_all.max(), rel=1e-12)
    assert np.sort(grid.point_data[PHI]) == pytest.approx(np.sort(phi_all), abs=1e-14)
    for name in (flux_name("Li+"), CURRENT):
        assert grid.point_data[name].shape == (grid.n_points, 3)
        assert grid.cell_data[name].shape == (grid.n_cells, 3)
    # far from the electrode: about the applied 5 mA/cm2 (not 50 A/m2), downwards
    top = grid.points[:, 2] > 1.9
    assert np.all(
        (grid.point_data[CURRENT][top, 2] < -4.0) & (grid.point_data[CURRENT][top, 2] > -7.0)
    )

    surface = pyvista.read(folder / "electrode_anode.vtp")
    assert surface.n_points == deposition.size
    assert str(surface.field_data["boundaries"][0]) == "nuclei,substrate"
    assert sorted(set(surface.cell_data["boundary"])) == [0, 1]
    assert VELOCITY not in surface.point_data  # a stationary run
    values, w = surface.point_data[DEPOSITION], node_weights(surface)
    assert w.sum() * 1e-12 == pytest.approx(weights.sum(), rel=1e-10)  # um2 -> m2
    mean = (deposition * weights).sum() / weights.sum()
    assert (values * w).sum() / w.sum() == pytest.approx(mean, rel=1e-10)
    assert values.max() == pytest.approx(deposition.max(), rel=1e-12)
    assert np.sort(values) == pytest.approx(np.sort(deposition), rel=1e-12)
    assert np.all(np.isfinite(surface.point_data[OVERPOTENTIAL]))
    c_surface = surface.point_data[concentration_name("Li+")]
    assert c_all.min() <= c_surface.min() <= c_surface.max() <= c_all.max()
    # triangles face the electrolyte: up on the flat substrate
    normals = surface.compute_normals(cell_normals=True, point_normals=False).cell_data["Normals"]
    flat = surface.cell_data["boundary"] == 1
    assert normals[flat, 2] == pytest.approx(np.ones(flat.sum()))


@pytest.mark.mpi
def test_nodal_vectors_are_the_volume_weighted_mean_of_the_cells_around_each_node():
    """Closed forms on a unit cube of 6-tetrahedra boxes (serial and 2 ranks, ghosts):
    a gradient of a linear field is the same constant vector in every cell and at every
    node; the position vector x averages, over the point-symmetric patch of an interior
    node, to the node itself (a cell counted twice or missed on a rank boundary breaks
    the symmetry)."""
    import dolfinx
    import ufl

    from femli.outputs.fields import cell_vectors, lumped_vectors

    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 4, 3, 5)
    space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u = dolfinx.fem.Function(space)
    u.interpolate(lambda x: 2.0 * x[0] - 3.0 * x[1] + 0.5 * x[2])
    (gradient, position), volumes = cell_vectors([ufl.grad(u), ufl.SpatialCoordinate(mesh)], mesh)
    assert MPI.COMM_WORLD.allreduce(volumes.sum()) == pytest.approx(1.0, rel=1e-12)
    assert gradient == pytest.approx(np.tile([2.0, -3.0, 0.5], (len(gradient), 1)), abs=1e-12)
    nodal_gradient, nodal_position = lumped_vectors([gradient, position], volumes, space)
    assert nodal_gradient == pytest.approx(np.tile([2.0, -3.0, 0.5], (len(nodal_gradient), 1)))
    x = space.tabulate_dof_coordinates()
    interior = np.all((x > 1e-9) & (x < 1.0 - 1e-9), axis=1)
    assert interior.any() or MPI.COMM_WORLD.size > 1
    assert np.abs(nodal_position[interior] - x[interior]).max(initial=0.0) < 1e-14
    boundary = ~interior  # a one-sided patch: its mean lies inside the cube
    assert np.abs(nodal_position[boundary] - x[boundary]).max() > 0.01


def test_field_files_are_raw_appended_vtk_with_32_bit_connectivity(solved, tmp_path):
    """The arrays follow the XML as raw LZ4 blocks (no base64), connectivity as Int32."""
    import pyvista

    solver, _ = solved
    if MPI.COMM_WORLD.size > 1:
        pytest.skip("serial")
    folder = write_fields(solver.model, tmp_path, solver.currents)
    raw = (folder / "solution.vtu").read_bytes()
    head = raw[: raw.index(b"<AppendedData")].decode()
    assert 'format="appended"' in head and 'compressor="vtkLZ4DataCompressor"' in head
    assert re.search(r'type="Int32"[^>]* Name="connectivity"', head)
    assert 'header_type="UInt64"' in head
    assert b'encoding="raw"' in raw[: raw.index(b"<AppendedData") + 60]
    grid = pyvista.read(folder / "solution.vtu")
    assert grid.n_cells == solver.model.domain.num_cells_global()
    assert not list(folder.glob(".*"))  # no temporary file left


@pytest.mark.mpi
@pytest.mark.parametrize("cell", ["triangle", "quadrilateral"])
def test_the_gathered_grid_has_every_cell_once_with_its_own_vertices(cell):
    """Simplices go to VTK straight from the dofmap, other cells through
    ``dolfinx.plot.vtk_mesh``: either way each cell's points are its vertices."""
    import dolfinx

    from femli.outputs.fields import gather_grid

    kind = getattr(dolfinx.mesh.CellType, cell)
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 5, 4, kind)
    space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    centres = dolfinx.mesh.compute_midpoints(
        mesh, 2, np.arange(mesh.topology.index_map(2).size_local, dtype=np.int32)
    )
    grid = gather_grid(space, {}, {"centre": centres})
    if MPI.COMM_WORLD.rank != 0:
        return
    assert grid.n_cells == (40 if cell == "triangle" else 20) and grid.n_points == 30
    assert set(grid.celltypes) == {5 if cell == "triangle" else 9}
    vtk_centres = grid.cell_centers().points  # um: the coordinates are scaled
    assert vtk_centres == pytest.approx(grid.cell_data["centre"] * 1e6, abs=1e-9)
