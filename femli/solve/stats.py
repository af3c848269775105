"""Solver statistics, and time and peak memory per stage of a run.

:class:`SolveStats` times the set-up, the assembly (residual and Jacobian callbacks)
and the rest of the solve (linear solver set-up and iterations) of a
:class:`~femli.solve.newton.Newton`, and counts its recoveries; :func:`peak_memory`
reports the peak resident memory over the ranks, :func:`reset_peak_memory` starts a
new measurement window (Linux) so that stages can be measured separately, and
:func:`measure_stage` does both for a ``with`` block (time and memory per stage).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

from mpi4py import MPI

__all__ = ["SolveStats", "measure_stage", "peak_memory", "reset_peak_memory"]


@dataclass(slots=True)
class SolveStats:
    """Accumulated solver statistics (this rank's clock; the work is collective).

    ``seconds`` is the wall time inside :meth:`Newton.solve`; ``assembly_seconds`` the
    part of it spent in residual and Jacobian assembly, the rest is the linear solver
    (preconditioner set-up and Krylov iterations) and vector work. ``setup_seconds`` is
    the construction of the :class:`Newton` (form compilation, matrix and solver set-up).
    """

    newton_iterations: int = 0
    krylov_iterations: int = 0
    solves: int = 0
    failures: int = 0
    seconds: float = 0.0
    setup_seconds: float = 0.0
    assembly_seconds: float = 0.0
    residual_evaluations: int = 0
    jacobian_evaluations: int = 0
    jacobians_reused: int = 0
    last_reason: int = 0
    rebuild_retries: int = 0
    line_search_retries: int = 0
    direct_fallbacks: int = 0
    history: list[int] = field(default_factory=list)
    krylov_history: list[int] = field(default_factory=list)

    @property
    def krylov_per_newton(self) -> float:
        """Mean Krylov iterations per Newton step (0 without Newton steps)."""
        return self.krylov_iterations / self.newton_iterations if self.newton_iterations else 0.0

    def to_state(self) -> dict:
        """Every field as plain data (checkpoints; :meth:`from_state` reads it back)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_state(cls, data: dict) -> SolveStats:
        """The statistics :meth:`to_state` gave (fields unknown to this version, like the
        ``reference_norm`` of older checkpoints, are skipped)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def as_dict(self) -> dict:
        """Plain-data view for metrics files."""
        return {
            "newton_iterations": self.newton_iterations,
            "krylov_iterations": self.krylov_iterations,
            "krylov_per_newton": round(self.krylov_per_newton, 2),
            "nonlinear_solves": self.solves,
            "failed_solves": self.failures,
            "preconditioner_rebuild_retries": self.rebuild_retries,
            "line_search_retries": self.line_search_retries,
            "direct_solver_fallbacks": self.direct_fallbacks,
            "jacobian_evaluations": self.jacobian_evaluations,
            "jacobians_reused": self.jacobians_reused,
            "residual_evaluations": self.residual_evaluations,
            "setup_seconds": round(self.setup_seconds, 4),
            "solve_seconds": round(self.seconds, 4),
            "assembly_seconds": round(self.assembly_seconds, 4),
            "linear_solver_seconds": round(max(self.seconds - self.assembly_seconds, 0.0), 4),
        }


def peak_memory(comm: MPI.Comm | None = None) -> dict[str, float]:
    """Peak resident memory (MiB) of this process and over the ranks of ``comm``. Collective.

    From ``resource.getrusage`` (``ru_maxrss``: KiB on Linux, bytes on macOS). Returns
    ``peak_rss_mb`` (this rank), ``peak_rss_mb_max`` (largest rank) and
    ``peak_rss_mb_total`` (sum over ranks: the job's footprint if all peaks coincide).
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mb = rss / 2**20 if sys.platform == "darwin" else rss / 2**10
    comm = comm or MPI.COMM_SELF
    return {
        "peak_rss_mb": round(mb, 1),
        "peak_rss_mb_max": round(comm.allreduce(mb, op=MPI.MAX), 1),
        "peak_rss_mb_total": round(comm.allreduce(mb, op=MPI.SUM), 1),
    }


def reset_peak_memory() -> bool:
    """Start a new peak-memory window: later :func:`peak_memory` calls report the peak since.

    Linux only (writes 5 to ``/proc/self/clear_refs``, which resets the high-water mark
    that ``getrusage`` reports); returns False where that is not possible.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


@contextmanager
def measure_stage(record: dict, name: str, comm: MPI.Comm | None = None) -> Iterator[None]:
    """Time a stage and its peak memory into ``record[name]``. Collective.

    ``record[name] = {"seconds", "peak_rss_mb_max", "peak_rss_mb_total"}``: wall time
    (largest over the ranks) and peak resident memory since the stage started (largest
    rank, sum over ranks), e.g. ``with measure_stage(metrics["stages"], "mesh", comm):``.
    Where the peak cannot be reset (not Linux) it is the peak since the process started.
    Recorded only when the block completes: an exception leaves no record and reaches
    no collective (it may be one rank's).
    """
    comm = comm or MPI.COMM_SELF
    reset_peak_memory()
    start = time.perf_counter()
    yield
    seconds = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
    memory = peak_memory(comm)
    record[name] = {
        "seconds": round(seconds, 4),
        "peak_rss_mb_max": memory["peak_rss_mb_max"],
        "peak_rss_mb_total": memory["peak_rss_mb_total"],
    }
