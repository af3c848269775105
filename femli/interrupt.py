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
from the last checkpoint. A second signal stops the process at once.

Gmsh resets signal handlers when it is initialised: :func:`check` re-installs them.
Nothing happens unless :func:`install` was called (a script's own handling is kept).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from mpi4py import MPI

__all__ = ["check", "install", "stop_at_safe_points", "uninstall"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_installed = False
_requested: str | None = None


def _request(signum, frame) -> None:
    global _requested
    if _requested is not None:  # the second signal: stop now
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _requested = signal.Signals(signum).name


def install() -> None:
    """Record SIGTERM / SIGINT as a stop request (main thread only)."""
    global _installed, _requested
    if threading.current_thread() is threading.main_thread():
        for s in _SIGNALS:
            signal.signal(s, _request)
        _installed, _requested = True, None


def uninstall() -> None:
    """Back to Python's default handling (a pending request is dropped)."""
    global _installed, _requested
    if _installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _installed, _requested = False, None


@contextlib.contextmanager
def stop_at_safe_points() -> Iterator[None]:
    """:func:`install` for the block, :func:`uninstall` after it."""
    install()
    try:
        yield
    finally:
        uninstall()


def check(comm: MPI.Comm | None = None) -> None:
    """Raise :class:`KeyboardInterrupt` if a stop was requested (on any rank of ``comm``:
    collective when ``comm`` is given). Re-installs the handlers."""
    if not _installed:
        return
    if threading.current_thread() is threading.main_thread():
        for s in _SIGNALS:
            signal.signal(s, _request)  # Python's record may be stale: always set
    name = _requested
    if comm is not None and comm.size > 1:
        names = [n for n in comm.allgather(name) if n is not None]
        name = names[0] if names else None
    if name is not None:
        raise KeyboardInterrupt(name)
