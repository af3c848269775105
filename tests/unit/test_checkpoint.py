"""A checkpoint's mesh comes back with the boundary names it had lost (covered by merged
deposits) as empty regions, so conditions naming them still build and integrate to zero."""

from __future__ import annotations

import gmsh
import pytest
from mpi4py import MPI

from femli.checkpoint import Checkpoint
from femli.geometry import gmsh_session
from femli.parallel import on_root


def unit_square(path) -> None:
    """A 1 x 1 square (mesh units) with boundaries 'electrode' (y = 0) and 'bulk' (y = 1)."""
    with gmsh_session():
        gmsh.model.add("square")
        gmsh.model.occ.addRectangle(0, 0, 0, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(2, [1], name="electrolyte")
        lines = {
            round(gmsh.model.occ.getCenterOfMass(1, t)[1], 6): t
            for _, t in gmsh.model.getEntities(1)
        }
        gmsh.model.addPhysicalGroup(1, [lines[0.0]], name="electrode")
        gmsh.model.addPhysicalGroup(1, [lines[1.0]], name="bulk")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.5)
        gmsh.model.mesh.generate(2)
        gmsh.write(str(path))
        gmsh.model.remove()


@pytest.mark.mpi
def test_checkpoint_mesh_keeps_lost_boundary_names_as_empty_regions(mpi_tmp_path):
    comm = MPI.COMM_WORLD
    on_root(comm, lambda: unit_square(mpi_tmp_path / "mesh.msh"))
    meta = {"facet_names": ["bulk", "electrode", "wall_left"]}
    domain = Checkpoint(meta, mpi_tmp_path).domain(comm)
    names = domain.facet_names
    assert set(names) == {"bulk", "electrode", "wall_left"}
    assert names["wall_left"] not in (names["bulk"], names["electrode"])
    assert domain.measure("wall_left") == 0.0
    assert domain.measure("electrode") == pytest.approx(1.0, rel=1e-12)
