"""One compiled Newton problem (PETSc SNES) with convergence checking.

The forms are compiled and the PETSc objects created once; :meth:`Newton.solve`
can be called any number of times (new potentials, time steps, continuation steps)
without recompilation or new PETSc objects (the matrix, vectors, KSP, field split and
multigrid hierarchy are kept). A diverged solve restores the previous state and reports
failure; it is never returned as a result.

:class:`SolveStats` times the set-up, the assembly (residual and Jacobian callbacks)
and the rest of the solve (linear solver set-up and iterations); :func:`peak_memory`
reports the peak resident memory over the ranks, :func:`reset_peak_memory` starts a
new measurement window (Linux) so that stages can be measured separately, and
:func:`measure_stage` does both for a ``with`` block (time and memory per stage).
"""

from __future__ import annotations

import itertools
import resource
import sys
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from dolfinx.fem import bcs_by_block
from dolfinx.fem.petsc import assemble_vector, assign, set_bc
from dolfinx.la.petsc import _ghost_update, _zero_vector
from mpi4py import MPI
from petsc4py import PETSc

from femli.physics.model import CellModel
from femli.solve import options as presets
from femli.solve.jacobian import NestJacobian
from femli.solve.problems import NonlinearProblem

_counter = itertools.count()

#: Absolute residual tolerance as a fraction of the largest initial residual seen.
RELATIVE_FLOOR = 1.0e-10


class SolverError(RuntimeError):
    """A solve that did not converge after every recovery was tried."""


#: SNES reason of a Newton step whose linear solve failed (SNES_DIVERGED_LINEAR_SOLVE).
DIVERGED_LINEAR_SOLVE = -3


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
    last_reason: int = 0
    history: list[int] = field(default_factory=list)
    krylov_history: list[int] = field(default_factory=list)

    @property
    def krylov_per_newton(self) -> float:
        """Mean Krylov iterations per Newton step (0 without Newton steps)."""
        return self.krylov_iterations / self.newton_iterations if self.newton_iterations else 0.0

    def as_dict(self) -> dict:
        """Plain-data view for metrics files."""
        return {
            "newton_iterations": self.newton_iterations,
            "krylov_iterations": self.krylov_iterations,
            "krylov_per_newton": round(self.krylov_per_newton, 2),
            "nonlinear_solves": self.solves,
            "failed_solves": self.failures,
            "jacobian_evaluations": self.jacobian_evaluations,
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


class Newton:
    """SNES over the model's unknowns, with a solver preset as data."""

    def __init__(
        self, model: CellModel, preset: str = "auto", overrides: dict | None = None
    ) -> None:
        start = time.perf_counter()
        self.model = model
        self.preset = presets.resolve(preset, model.num_dofs(), model.domain.dim)
        nfields = len(model.unknowns)
        opts = presets.petsc_options(self.preset, nfields, overrides)
        self._base_atol = float(opts["snes_atol"])
        self._lag = int(opts.get("snes_lag_preconditioner", 1))
        self._lag_now = self._lag  # 1 while a failed linear solve is retried
        self._blocks_reused = False  # the field split's blocks keep their preconditioners
        self.prefix = f"femli_{next(_counter)}_"
        # the field split works on a nested (block) matrix: its blocks are the split's
        # operators as they are (no sub-matrix copies, no monolithic matrix)
        split = self.preset == "iterative" and nfields > 1
        self.problem = NonlinearProblem(
            model.residual if nfields > 1 else model.residual[0],
            model.unknowns if nfields > 1 else model.unknowns[0],
            bcs=model.bcs,
            petsc_options_prefix=self.prefix,
            petsc_options=opts,
            kind="nest" if split else None,
        )
        if split:
            self._set_fieldsplit()
        # PETSc keeps options until the process ends (DOLFINx's tidy-up misses prefixed
        # ones): drop this problem's when it is freed, so that a study's many problems
        # do not pile up and PETSc does not warn at exit about those never read (a solve
        # that converged before any linear solve)
        weakref.finalize(self, _forget_options, self.prefix)
        self.stats = SolveStats()
        self.reference_norm = 0.0
        self._install_callbacks(nest=split)
        self.stats.setup_seconds = time.perf_counter() - start

    def _install_callbacks(self, nest: bool = False) -> None:
        """Monitor, and the residual and Jacobian callbacks wrapped to time assembly.

        Monolithic matrices use DOLFINx's callbacks, nested ones :func:`nest_residual`
        and :class:`~femli.solve.jacobian.NestJacobian`. The callbacks reach this object
        through a weak reference: PETSc keeps them on the SNES, and a strong reference
        would make a cycle through a PETSc object that Python's garbage collector cannot
        break (every Newton, with its matrices and factorisations, would then live until
        the process ends).
        """
        snes, owner = self.problem.solver, weakref.ref(self)
        b, (residual, r_args, r_kwargs) = snes.getFunction()
        a, p, (jacobian, j_args, j_kwargs) = snes.getJacobian()
        if nest:
            problem, bcs = self.problem, self.model.bcs
            residual, r_args, r_kwargs = nest_residual, (problem.u, problem.F, bcs), {}
            jacobian = NestJacobian(self.model.residual, problem.u, bcs)
            j_args, j_kwargs = (), {}

        def monitor(_snes, iteration: int, fnorm: float) -> None:
            newton = owner()
            if newton is not None and iteration == 0:
                # the largest initial residual norm: the problem's own residual scale
                newton.reference_norm = max(newton.reference_norm, fnorm)

        def timed_residual(*args, **kwargs):
            start = time.perf_counter()
            residual(*args, **kwargs)
            if (newton := owner()) is not None:
                newton.stats.assembly_seconds += time.perf_counter() - start
                newton.stats.residual_evaluations += 1

        def timed_jacobian(*args, **kwargs):
            start = time.perf_counter()
            jacobian(*args, **kwargs)
            if (newton := owner()) is not None:
                if nest:
                    newton._lag_blocks()
                newton.stats.assembly_seconds += time.perf_counter() - start
                newton.stats.jacobian_evaluations += 1

        snes.setMonitor(monitor)
        snes.setFunction(timed_residual, b, args=r_args, kargs=r_kwargs)
        snes.setJacobian(timed_jacobian, a, p, args=j_args, kargs=j_kwargs)

    def _lag_blocks(self) -> None:
        """Make the field split's block preconditioners follow SNES's lag.

        SNES keeps the outer preconditioner on a lagged step, but each block's
        multigrid sees its matrix changed and would be rebuilt anyway. The blocks are
        looked up each time (no references kept beyond this call): they exist once the
        split has been set up, i.e. after the first step of a solve.
        """
        snes = self.problem.solver
        reuse = self._lag_now > 1 and snes.getIterationNumber() % self._lag_now != 0
        if reuse == self._blocks_reused:
            return
        for block in snes.getKSP().getPC().getFieldSplitSubKSP():
            block.getPC().setReusePreconditioner(reuse)
        self._blocks_reused = reuse

    def _update_tolerances(self) -> None:
        """Absolute tolerance relative to the largest residual seen (the round-off floor
        sits ~1e-14 below it), so near-converged restarts are not chased below it."""
        snes = self.problem.solver
        floor = RELATIVE_FLOOR * self.reference_norm
        snes.setTolerances(atol=max(self._base_atol, floor))

    def _set_fieldsplit(self) -> None:
        """One split per field: the row index sets of the nested (block) matrix."""
        pc = self.problem.solver.getKSP().getPC()
        rows, _ = self.problem.A.getNestISs()
        pc.setFieldSplitIS(*[(str(k), iset) for k, iset in enumerate(rows)])
        self.problem.solver.setFromOptions()

    def _impose_dirichlet(self) -> None:
        """Put the Dirichlet values into the unknowns (the nested residual needs no
        lifting then: Newton corrections vanish on constrained degrees of freedom)."""
        spaces = [u.function_space._cpp_object for u in self.model.unknowns]
        for u, bcs in zip(self.model.unknowns, bcs_by_block(spaces, self.model.bcs), strict=True):
            for bc in bcs:
                bc.set(u.x.array)

    def snapshot(self) -> list[np.ndarray]:
        """Copies of the unknowns' local arrays."""
        return [u.x.array.copy() for u in self.model.unknowns]

    def restore(self, state: list[np.ndarray]) -> None:
        """Put back a :meth:`snapshot`."""
        for u, a in zip(self.model.unknowns, state, strict=True):
            u.x.array[:] = a

    def solve(self) -> bool:
        """One Newton solve from the current state. Returns convergence; restores on failure.

        A linear solve that fails with a lagged preconditioner is retried once from the
        same state with the preconditioner rebuilt on every Newton step.
        """
        state = self.snapshot()
        if self.problem.A.getType() == "nest":
            self._impose_dirichlet()
        self._update_tolerances()
        converged, reason = self._attempt()
        if not converged and reason == DIVERGED_LINEAR_SOLVE and self._lag > 1:
            self.restore(state)
            snes = self.problem.solver
            snes.setLagPreconditioner(1)
            self._lag_now = 1
            try:
                converged, reason = self._attempt()
            finally:
                snes.setLagPreconditioner(self._lag)
                self._lag_now = self._lag
        if not converged:
            self.stats.failures += 1
            self.restore(state)
        return converged

    def _attempt(self) -> tuple[bool, int]:
        """One SNES solve; (converged on every rank, the SNES reason agreed by the ranks).

        Both decide what happens next (a retry, a step cut), so they are reduced: a
        rank-local reason (a PETSc error on one rank) would send the ranks different ways.
        """
        snes = self.problem.solver
        start = time.perf_counter()
        try:
            self.problem.solve()
            reason = snes.getConvergedReason()
        except PETSc.Error:
            reason = -100
        finite = all(np.isfinite(u.x.array).all() for u in self.model.unknowns)
        comm = self.model.domain.comm
        converged = comm.allreduce(reason > 0 and finite, op=MPI.LAND)
        reason = comm.allreduce(reason, op=MPI.MIN)  # the worst; every rank's if they agree
        stats = self.stats
        stats.seconds += time.perf_counter() - start
        stats.solves += 1
        stats.last_reason = reason
        stats.newton_iterations += snes.getIterationNumber()
        stats.krylov_iterations += snes.getLinearSolveIterations()
        stats.history.append(snes.getIterationNumber())
        stats.krylov_history.append(snes.getLinearSolveIterations())
        return bool(converged), reason


def _forget_options(prefix: str) -> None:
    """Remove every PETSc option that starts with ``prefix`` from the global database."""
    opts = PETSc.Options()
    for name in [k for k in opts.getAll() if k.startswith(prefix)]:
        opts.delValue(name)


def nest_residual(_snes, x, b, u, residual, bcs) -> None:
    """Residual at ``x`` into the nested vector ``b``, one field block at a time.

    The unknowns satisfy the Dirichlet conditions (imposed before each solve; Newton
    corrections vanish there), so there is no lifting: constrained rows get ``x - g``.
    Each block packs its own coefficients: one block's packed data alive at a time.
    """
    _ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
    assign(x, u)
    _zero_vector(b)
    for form, b_sub in zip(residual, b.getNestSubVecs(), strict=True):
        assemble_vector(b_sub, form)
    _ghost_update(b, PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
    spaces = [form.function_spaces[0] for form in residual]
    set_bc(b, bcs_by_block(spaces, bcs), x0=x, alpha=-1.0)
    _ghost_update(b, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
