"""Domain region names and mesh-file errors."""

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import RegionError, from_mesh, read_msh


def unit_square():
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 8, 8)
    return from_mesh(
        mesh,
        {"electrode": lambda x: np.isclose(x[1], 0.0), "bulk": lambda x: np.isclose(x[1], 1.0)},
    )


def test_named_boundaries_measure_their_length():
    domain = unit_square()
    assert domain.measure("electrode") == pytest.approx(1.0)
    assert domain.measure("electrode", "bulk") == pytest.approx(2.0)
    assert domain.measure(boundary=False) == pytest.approx(1.0)


def test_unknown_region_names_the_alternatives():
    domain = unit_square()
    with pytest.raises(RegionError, match=r"no boundary region named 'electrod'.*'electrode'"):
        domain.ds("electrod")


def test_a_new_mesh_keeps_the_lost_boundary_names_as_empty_regions():
    old = unit_square()
    old.facet_names["wall"] = 7  # a name the new mesh lacks, its tag above both meshes'
    new = unit_square()
    assert new.keep_names(old) is new
    names = new.facet_names
    assert set(names) == {"electrode", "bulk", "wall"} and names["wall"] == 8
    assert new.measure("wall") == 0.0 and new.measure("electrode") == pytest.approx(1.0)
    new.add_empty_regions(["wall", "side"], floor=20)
    assert (names["wall"], names["side"]) == (8, 21)


@pytest.mark.mpi
def test_missing_and_malformed_mesh_files(mpi_tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_msh(mpi_tmp_path / "nothing.msh", MPI.COMM_WORLD)
    bad = mpi_tmp_path / "bad.msh"
    if MPI.COMM_WORLD.rank == 0:
        bad.write_text("this is not a mesh\n")
    MPI.COMM_WORLD.barrier()
    with pytest.raises(ValueError, match="cannot read mesh file"):
        read_msh(bad, MPI.COMM_WORLD)


@pytest.mark.mpi
def test_msh_round_trip_keeps_region_names(mpi_tmp_path):
    import gmsh

    from femli import geometry

    path = mpi_tmp_path / "box.msh"
    if MPI.COMM_WORLD.rank == 0:
        with geometry.gmsh_session():
            geometry.build("box", surface="asperities", count=1)
            geometry.write_msh(path)
            gmsh.clear()
    MPI.COMM_WORLD.barrier()
    domain = read_msh(path, MPI.COMM_WORLD)
    assert set(domain.facet_names) == {"electrode", "bulk", "wall_left", "wall_right"}
    assert domain.measure("electrode") == pytest.approx((10.0 - 2.0 + np.pi) * 1e-6, rel=1e-3)


def _box_and_a_loose_surface() -> None:
    """A meshed unit cube (um) and, in a physical group of its own, a square that bounds
    no volume: its nodes belong to no tetrahedron."""
    import gmsh

    from femli.geometry.core import new_model

    new_model("loose")
    box = gmsh.model.occ.addBox(0, 0, 0, 1, 1, 1)
    square = gmsh.model.occ.addRectangle(3, 3, 3, 1, 1)
    gmsh.model.occ.synchronize()
    gmsh.model.addPhysicalGroup(3, [box], name="electrolyte")
    gmsh.model.addPhysicalGroup(2, [1], name="electrode")
    gmsh.model.addPhysicalGroup(2, [square], name="stray")
    gmsh.option.setNumber("Mesh.MeshSizeMax", 0.4)
    gmsh.model.mesh.generate(3)


@pytest.mark.mpi
def test_nodes_in_no_cell_are_an_error_on_every_rank_not_an_mpi_abort(mpi_tmp_path):
    """DOLFINx's model_to_mesh aborts the MPI job ("Invalid rank", even on one process)
    on such a model; femli names the group instead, as a model and as a file."""
    import gmsh

    from femli import geometry
    from femli.mesh import from_gmsh_model

    path = mpi_tmp_path / "loose.msh"
    with geometry.gmsh_session():
        if MPI.COMM_WORLD.rank == 0:
            _box_and_a_loose_surface()
            geometry.write_msh(path)
        with pytest.raises(ValueError, match=r"nodes belong to no 3D element.*'stray'"):
            from_gmsh_model(gmsh.model, MPI.COMM_WORLD, 3)
        gmsh.clear()
    MPI.COMM_WORLD.barrier()
    with pytest.raises(ValueError, match=r"nodes belong to no 3D element.*'stray'"):
        read_msh(path, MPI.COMM_WORLD)
