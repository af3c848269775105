"""Failures that reach every rank: rank-local work whose error is raised on all ranks.

A rank that raises alone leaves its partners waiting in their next collective for
ever (an output folder rank 0 cannot write, a render that fails on rank 0, ...). The
helpers here run rank-local work and then agree, collectively, on whether it failed:

- :func:`on_root`: a job on rank 0 (shared files); its result, or its exception, on
  every rank;
- :func:`together`: a block every rank runs; if it raises on any rank, it raises on
  all (the first failing rank's error).

The same exception type reaches every rank, so every rank maps it to the same exit code
(:func:`femli.cli.classify`). An exception that cannot be pickled arrives as a
:class:`RankError` carrying its text.

Logging that prints on MPI rank 0 only (other ranks keep errors).
"""

from __future__ import annotations

import logging
import pickle
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mpi4py import MPI

__all__ = ["RankError", "RankZeroFilter", "gather", "on_root", "setup_logging", "together"]


class RankError(RuntimeError):
    """An error raised on another rank (its type could not be sent)."""


def _portable(err: BaseException, rank: int) -> BaseException:
    """``err`` itself if it survives pickling with its message intact, else a
    :class:`RankError` with its text (an exception whose ``__init__`` takes other
    arguments than its message can unpickle into a different message)."""
    try:
        intact = str(pickle.loads(pickle.dumps(err))) == str(err)
    except Exception:
        intact = False
    return err if intact else RankError(f"rank {rank}: {type(err).__name__}: {err}")


def gather[T](comm: MPI.Comm, part: T) -> list[T] | None:
    """Every rank's ``part`` as a list on rank 0 (None elsewhere). Collective. On one
    rank the part itself, not a copy: mpi4py's ``gather`` pickles even then (a mesh's
    arrays: seconds and their size again in memory)."""
    if comm.size == 1:
        return [part]
    return comm.gather(part, root=0)


def on_root[T](comm: MPI.Comm, job: Callable[[], T], share: bool = True) -> T | None:
    """Run ``job`` on rank 0 while the others wait; its exception (any
    :class:`Exception`) is raised on every rank. Collective.

    Returns the job's result on every rank, or with ``share=False`` on rank 0 only
    (None elsewhere: a large result, e.g. a table, is not sent)."""
    result, error = None, None
    if comm.rank == 0:
        try:
            result = job()
        except Exception as err:
            error = _portable(err, 0)
    sent, error = comm.bcast((result if share else None, error), root=0)
    if error is not None:
        raise error
    return sent if share else result  # result: None off rank 0


@contextmanager
def together(comm: MPI.Comm) -> Iterator[None]:
    """Run the block on every rank; an exception on any rank is raised on every rank
    (each failing rank its own, the others the lowest failing rank's). Collective.

    The block must not contain collectives itself: a rank that raised before one
    would leave the others in it."""
    error = None
    try:
        yield
    except Exception as err:
        error = err
    errors = comm.allgather(None if error is None else _portable(error, comm.rank))
    if error is not None:
        raise error
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first


class RankZeroFilter(logging.Filter):
    """Let records through on rank 0 only; errors pass on every rank.

    femli's warnings are collective (every rank logs the same one, e.g. "last converged
    state saved"), or made on rank 0 (Gmsh work): printing them once is enough."""

    def __init__(self, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
        super().__init__()
        self.rank = comm.rank

    def filter(self, record: logging.LogRecord) -> bool:
        return self.rank == 0 or record.levelno >= logging.ERROR


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each record: a live display (a spinner, a
    progress bar) redirects it, and prints the record above itself."""

    @property  # StreamHandler's attribute, read at each record
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(level: int = logging.INFO) -> None:
    """Configure the ``femli`` logger once: rank-0 filter, short format."""
    logger = logging.getLogger("femli")
    logger.setLevel(level)
    if not any(getattr(h, "_femli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler._femli = True  # type: ignore[attr-defined]
        handler.addFilter(RankZeroFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.propagate = False
