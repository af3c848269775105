"""Stop requests (femli.interrupt) while native code runs: the first SIGTERM waits for a
safe point, the second ends the process at once, also in the middle of a Gmsh meshing
(Python runs its own handlers only between bytecodes; a Gmsh run that never returned
once ignored both signals until SIGKILL)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from mpi4py import MPI

pytestmark = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: signals a child")

#: a Gmsh volume mesh of several million cells (tens of seconds), as femli starts Gmsh
SCRIPT = textwrap.dedent(
    """
    import gmsh
    from femli import interrupt
    from femli.geometry.core import gmsh_session, new_model
    interrupt.install()
    with gmsh_session():
        new_model("long")
        gmsh.model.occ.addBox(0, 0, 0, 1, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.008)
        print("meshing", flush=True)
        gmsh.model.mesh.generate(3)
    print("meshed", flush=True)
    interrupt.check()
    """
)


def test_a_second_signal_ends_a_gmsh_run_at_once():
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "meshing"
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)  # a stop request: Gmsh goes on
        time.sleep(1.0)
        assert process.poll() is None
        clock = time.perf_counter()
        process.send_signal(signal.SIGTERM)  # the second: now
        process.wait(timeout=10)
        assert time.perf_counter() - clock < 5.0
    finally:
        process.kill()
        out, _ = process.communicate()
    assert process.returncode == 128 + signal.SIGTERM
    assert "meshed" not in out
