"""Stopping a run on SIGTERM / SIGINT at a safe point, so it records itself.

A KeyboardInterrupt raised wherever the signal lands is not safe here: inside a PETSc
callback (residual, Jacobian) petsc4py turns it into a solver error, which the
recovery strategies then treat as a failed Newton solve, and on several ranks each
would stop at another place, one of them waiting for ever in a collective.

So ``femli run`` and ``femli sweep`` call :func:`install`: the first SIGTERM or SIGINT
only records the request; :func:`check`, called at step boundaries and between
stages of :func:`femli.pipeline.run_case`, raises :class:`KeyboardInterrupt` there, on every
rank at once (the request is reduced over the communicator). ``run_case`` then writes
``status.json`` ("interrupted"), the CLI exits with 130, and ``--restart`` continues
from the last checkpoint. A second signal stops the process at once, also inside native
code: Python runs its signal handlers only between bytecodes, so while Gmsh meshes (or
PETSc solves) neither signal would be seen until that call returns, and a Gmsh run that
never returns (seen once, in a 3D rebuild) ignored SIGTERM until SIGKILL. A watchdog
thread reads the signals from Python's wakeup file descriptor, which the C-level handler
writes at once, and ends the process on the second one (exit status 128 + the signal
number, as for a process killed by it; under mpiexec the other ranks are then stopped).

Gmsh resets signal handlers when it is initialised: :func:`rearm` (called by
:func:`femli.geometry.core.gmsh_session` and :func:`check`) re-installs them.
Nothing happens unless :func:`install` was called (a script's own handling is kept).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from mpi4py import MPI

__all__ = ["check", "install", "rearm", "stop_at_safe_points", "uninstall"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_installed = False
_requested: str | None = None
_watchdog: tuple[int, int] | None = None  # (write end of its pipe, the fd replaced)


def _request(signum, frame) -> None:
    global _requested
    if _requested is not None:  # the second signal: stop now
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _requested = signal.Signals(signum).name


def _watch(fd: int) -> None:
    """The watchdog: the second SIGTERM / SIGINT written to ``fd`` ends the process."""
    seen = 0
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while data := pipe.read(64):  # b"": the write end was closed (uninstall)
            for signum in data:
                if signum in _SIGNALS:
                    seen += 1
                    if seen >= 2:
                        os._exit(128 + signum)


def _start_watchdog() -> None:
    global _watchdog
    read, write = os.pipe()
    os.set_blocking(write, False)  # the C-level handler must never block on it
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read,), name="femli-signals", daemon=True).start()
    _watchdog = (write, previous)


def _stop_watchdog() -> None:
    global _watchdog
    if _watchdog is not None:
        write, previous = _watchdog
        signal.set_wakeup_fd(previous)
        os.close(write)  # the thread reads the end of its pipe and returns
        _watchdog = None


def install() -> None:
    """Record SIGTERM / SIGINT as a stop request (main thread only); a second one ends
    the process at once, wherever it is."""
    global _installed, _requested
    if threading.current_thread() is threading.main_thread():
        for s in _SIGNALS:
            signal.signal(s, _request)
        _stop_watchdog()
        _start_watchdog()
        _installed, _requested = True, None


def uninstall() -> None:
    """Back to Python's default handling (a pending request is dropped)."""
    global _installed, _requested
    if _installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _stop_watchdog()
    _installed, _requested = False, None


@contextlib.contextmanager
def stop_at_safe_points() -> Iterator[None]:
    """:func:`install` for the block, :func:`uninstall` after it."""
    install()
    try:
        yield
    finally:
        uninstall()


def rearm() -> None:
    """Install the handlers again after native code reset them (Gmsh's ``initialize``
    puts back the default action: SIGTERM would end a meshing at once, not at a safe
    point); nothing unless :func:`install` was called. Main thread only."""
    if _installed and threading.current_thread() is threading.main_thread():
        for s in _SIGNALS:
            signal.signal(s, _request)  # Python's record may be stale: always set


def check(comm: MPI.Comm | None = None) -> None:
    """Raise :class:`KeyboardInterrupt` if a stop was requested (on any rank of ``comm``:
    collective when ``comm`` is given). Re-installs the handlers."""
    if not _installed:
        return
    rearm()
    name = _requested
    if comm is not None and comm.size > 1:
        names = [n for n in comm.allgather(name) if n is not None]
        name = names[0] if names else None
    if name is not None:
        raise KeyboardInterrupt(name)
