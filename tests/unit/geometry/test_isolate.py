"""Gmsh work in a child process (femli.geometry.isolate): the mesh and the answer come
back; a crash, a hang or an error of the child is a GeometryError (or its own error)
in the parent, which goes on."""

from __future__ import annotations

import os
import signal
import time

import gmsh
import pytest
from mpi4py import MPI

from femli.geometry import GeometryError, gmsh_session
from femli.geometry.core import new_model
from femli.geometry.isolate import in_child
from femli.parallel import on_root


def box() -> int:
    """A meshed unit box with a named volume (the geo kernel: OpenCascade's thread pool
    is not in a forked child, whose occ.synchronize waited forever); returns the child's
    process id."""
    new_model("box")
    geo = gmsh.model.geo
    corners = [geo.addPoint(x, y, 0.0) for x, y in ((0, 0), (1, 0), (1, 1), (0, 1))]
    lines = [geo.addLine(corners[k], corners[(k + 1) % 4]) for k in range(4)]
    square = geo.addPlaneSurface([geo.addCurveLoop(lines)])
    (volume,) = [tag for dim, tag in geo.extrude([(2, square)], 0, 0, 1) if dim == 3]
    geo.synchronize()
    gmsh.model.addPhysicalGroup(3, [volume], name="electrolyte")
    gmsh.option.setNumber("Mesh.MeshSizeMax", 0.5)
    gmsh.model.mesh.generate(3)
    return os.getpid()


@pytest.mark.mpi
def test_the_mesh_and_the_answer_come_back_from_the_child():
    comm = MPI.COMM_WORLD

    def run() -> tuple[int, int, str]:
        child = in_child(box)
        _, elements, _ = gmsh.model.mesh.getElements(3)
        (group,) = gmsh.model.getPhysicalGroups(3)
        return child, len(elements[0]), gmsh.model.getPhysicalName(*group)

    with gmsh_session():
        found = on_root(comm, run)
    if comm.rank == 0:
        child, cells, name = found
        assert child != os.getpid() and cells > 0 and name == "electrolyte"


def test_an_error_of_the_work_is_raised_in_the_parent():
    def fail():
        raise GeometryError("a plane face of the rebuilt surface could not be meshed")

    with gmsh_session(), pytest.raises(GeometryError, match="plane face"):
        in_child(fail)


def test_a_crash_of_the_child_is_a_geometry_error_and_the_parent_goes_on():
    def crash():
        os.kill(os.getpid(), signal.SIGSEGV)

    with gmsh_session():
        with pytest.raises(GeometryError, match=r"Gmsh crashed \(SIGSEGV\)"):
            in_child(crash)
        in_child(box)  # the parent's Gmsh still works
        assert len(gmsh.model.mesh.getElements(3)[1][0]) > 0


def test_a_child_that_hangs_is_stopped():
    started = time.monotonic()
    with gmsh_session(), pytest.raises(GeometryError, match=r"longer than 0\.5 s"):
        in_child(lambda: time.sleep(30), timeout=0.5)
    assert time.monotonic() - started < 10


def test_a_mesh_with_nodes_in_no_cell_does_not_come_back():
    """The box and, in a physical group of its own, a square bounding no volume: DOLFINx
    would abort the MPI job on the mesh read back, so the child's mesh is refused."""

    def box_and_stray_square() -> int:
        child = box()
        geo = gmsh.model.geo
        corners = [geo.addPoint(x, y, 3.0) for x, y in ((3, 3), (4, 3), (4, 4), (3, 4))]
        lines = [geo.addLine(corners[k], corners[(k + 1) % 4]) for k in range(4)]
        square = geo.addPlaneSurface([geo.addCurveLoop(lines)])
        geo.synchronize()
        gmsh.model.addPhysicalGroup(2, [square], name="stray")
        gmsh.model.mesh.clear()
        gmsh.model.mesh.generate(3)  # the box's tets and the square's triangles
        return child

    with gmsh_session(), pytest.raises(GeometryError, match=r"nodes belong to no 3D element"):
        in_child(box_and_stray_square)
    with gmsh_session():
        assert in_child(box) != os.getpid()  # a clean mesh still comes back
