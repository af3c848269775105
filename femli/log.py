"""Logging that prints on MPI rank 0 only (other ranks keep errors)."""

from __future__ import annotations

import logging

from mpi4py import MPI


class RankZeroFilter(logging.Filter):
    """Let records through on rank 0 only; errors pass on every rank.

    femli's warnings are collective (every rank logs the same one, e.g. "last converged
    state saved"), or made on rank 0 (Gmsh work): printing them once is enough."""

    def __init__(self, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
        super().__init__()
        self.rank = comm.rank

    def filter(self, record: logging.LogRecord) -> bool:
        return self.rank == 0 or record.levelno >= logging.ERROR


def setup_logging(level: int = logging.INFO) -> None:
    """Configure the ``femli`` logger once: rank-0 filter, short format."""
    logger = logging.getLogger("femli")
    logger.setLevel(level)
    if not any(getattr(h, "_femli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler._femli = True  # type: ignore[attr-defined]
        handler.addFilter(RankZeroFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.propagate = False
