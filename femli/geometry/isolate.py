"""Gmsh work in a child process, so that a crash of Gmsh is an error, not the end of the run.

Gmsh's volume mesher crashed (SIGSEGV in libgmsh) on a surface of the seed 003 BLi 3D
growth run with the slow substrate at 22.5 s, taking the run with it after 8 min. Work
that builds a Gmsh model from data (a level-set rebuild) runs here in a forked copy of
the process: the child builds the model and writes its mesh (binary ``.msh``, with the
physical groups) and its result; the parent reads both back. A child killed by a signal,
or silent for ``timeout`` seconds, raises :class:`~femli.geometry.core.GeometryError`, so
the caller's retries (another grid, kept triangles) go on. Rank-local: the child must not
call MPI (the work runs on one rank, e.g. inside :func:`femli.parallel.on_root`), nor
anything else that runs threads (MPI's, BLAS's threads are not in the child); it runs
Gmsh (one thread; its built-in geo kernel and discrete entities, not OpenCascade, whose
thread pool the parent started: a child waited forever in ``occ.synchronize``), NumPy,
SciPy and VTK on data, and leaves with ``os._exit``.

Stops belong to the parent. A batch system's SIGTERM reaches every process of the job,
the child too: the child ignores SIGTERM / SIGINT and detaches from the signal wakeup
pipe it inherited (:mod:`femli.interrupt`'s watchdog would count the child's signal as
a second one and end the parent at once, with no outputs), and it dies with its parent
(Linux's parent-death signal), so a parent ended at once leaves no Gmsh running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import gmsh

from femli.geometry.core import GeometryError, new_model, write_msh
from femli.msh_checks import loose_nodes_problem

__all__ = ["in_child"]

#: How long (s) a child may run before it is killed; the rebuilds seen took up to 2 min.
TIMEOUT = 1800.0
#: Signals the child takes the default action on (PETSc's handlers would call MPI_Abort).
FATAL = (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT)
#: Stop requests: the parent's to act on (at its next safe point), ignored by the child.
STOPS = (signal.SIGTERM, signal.SIGINT)
#: ``prctl`` option: the signal the child gets when its parent ends (Linux).
PR_SET_PDEATHSIG = 1


def in_child[T](work: Callable[[], T], timeout: float = TIMEOUT) -> T:
    """``work()`` (which leaves a meshed Gmsh model) run in a forked child; returns its
    result with the model's mesh read back into this process's Gmsh (a fresh model),
    every node of it in a cell (else a GeometryError: DOLFINx could not distribute it).
    The exception ``work`` raised is raised here (its type if it pickles, else a
    GeometryError naming it). Needs an initialised gmsh session.

    Raises:
        GeometryError: the child died by a signal or ran longer than ``timeout`` s.
    """
    with tempfile.TemporaryDirectory(prefix="femli-gmsh-") as folder:
        mesh, answer = Path(folder) / "mesh.msh", Path(folder) / "answer.pickle"
        with warnings.catch_warnings():  # threads of MPI and BLAS: the child uses neither
            warnings.simplefilter("ignore", DeprecationWarning)
            parent, pid = os.getpid(), os.fork()
        if pid == 0:  # the child: never returns
            _leave_stops_to(parent)
            _child(work, mesh, answer)
        status = _wait(pid, timeout)
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            raise GeometryError(f"Gmsh crashed ({name}) while meshing")
        if not answer.is_file():
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
            raise GeometryError(f"the Gmsh child process ended without an answer (code {code})")
        kind, value = pickle.loads(answer.read_bytes())
        if kind == "error":
            raise value
        new_model("isolated")
        gmsh.merge(str(mesh))
        if (problem := loose_nodes_problem(gmsh.model.getDimension())) is not None:
            raise GeometryError(f"the mesh made is not one mesh of cells: {problem}")
        return value


def _leave_stops_to(parent: int) -> None:
    """In the child, first: SIGTERM / SIGINT ignored, no writes to the parent's wakeup
    pipe, SIGKILL when the parent ends (Linux; elsewhere the parent's timeout remains)."""
    for number in STOPS:
        signal.signal(number, signal.SIG_IGN)
    with contextlib.suppress(ValueError):  # forked from another thread: none was set
        signal.set_wakeup_fd(-1)
    with contextlib.suppress(OSError, AttributeError):  # no prctl: not Linux
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before prctl took effect
        os._exit(1)


def _child(work: Callable, mesh: Path, answer: Path) -> None:
    """Run ``work`` and write its mesh and answer, then leave at once (no atexit: the
    parent's MPI and PETSc belong to the parent)."""
    for number in FATAL:
        signal.signal(number, signal.SIG_DFL)
    code = 0
    try:
        value = work()
        gmsh.option.setNumber("Mesh.Binary", 1)
        write_msh(mesh)
        data = pickle.dumps(("value", value))
    except BaseException as err:  # carried to the parent
        code = 1
        try:
            data = pickle.dumps(("error", err))
        except Exception:
            data = pickle.dumps(("error", GeometryError(f"{type(err).__name__}: {err}")))
    try:
        answer.write_bytes(data)
    finally:
        os._exit(code)


def _wait(pid: int, timeout: float) -> int:
    """The child's exit status; kills it after ``timeout`` s (a GeometryError)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise GeometryError(f"Gmsh ran longer than {timeout:g} s: stopped")
        time.sleep(0.05)
