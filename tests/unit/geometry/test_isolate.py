"""Gmsh work in a child process (femli.geometry.isolate): the mesh and the answer come
back; a crash, a hang or an error of the child is a GeometryError (or its own error)
in the parent, which goes on."""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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


def _script(tmp_path, work: str) -> str:
    """A script that runs ``work`` (source of a function ``work``) through in_child under
    femli's stop handling, with :func:`box` at hand."""
    source = "\n".join(
        [
            "import os, signal, sys, time",
            "import dolfinx_solver  # noqa: F401",
            "import gmsh",
            "from femli import interrupt",
            "from femli.geometry import gmsh_session",
            "from femli.geometry.core import new_model",
            "from femli.geometry.isolate import in_child",
            inspect.getsource(box),
            textwrap.dedent(work),
            "with interrupt.stop_at_safe_points(), gmsh_session():",
            "    child = in_child(work)",
            "    try:",
            "        interrupt.check()",
            "    except KeyboardInterrupt as err:",
            "        print('stopped by', err)",
        ]
    )
    path = tmp_path / "run.py"
    path.write_text(source)
    return str(path)


def test_a_stop_sent_to_parent_and_child_stops_the_parent_at_its_safe_point(tmp_path):
    """A batch system's SIGTERM reaches every process of the job, the forked Gmsh child
    too. The child must leave it to its parent: before, its signal went into the parent's
    wakeup pipe (inherited over fork), femli.interrupt's watchdog counted it as a second
    signal and ended the parent at once (status 143, no outputs written)."""
    work = """
    def work():
        os.kill(os.getppid(), signal.SIGTERM)  # the parent gets the stop ...
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)  # ... and so does its child
        time.sleep(0.5)
        return box()
    """
    done = subprocess.run(
        [sys.executable, _script(tmp_path, work)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stopped by SIGTERM" in done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl: Linux")
def test_the_child_dies_with_its_parent(tmp_path):
    """A parent killed at once (a second signal, SIGKILL) takes its Gmsh child with it."""
    pid_file = tmp_path / "child.pid"
    work = f"""
    def work():
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
        return box()
    """
    parent = subprocess.Popen([sys.executable, _script(tmp_path, work)])
    try:
        deadline = time.monotonic() + 60
        while not pid_file.is_file() or not pid_file.read_text():
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        child = int(pid_file.read_text())
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaps counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]
