"""One compiled Newton problem (PETSc SNES) with convergence checking.

The forms are compiled and the PETSc objects created once; :meth:`Newton.solve`
can be called any number of times (new potentials, time steps, continuation steps)
without recompilation. A diverged solve restores the previous state and reports
failure; it is never returned as a result.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import dolfinx
import dolfinx.fem.petsc
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from femli.physics.model import CellModel
from femli.solve import options as presets

_counter = itertools.count()

#: Absolute residual tolerance as a fraction of the largest initial residual seen.
RELATIVE_FLOOR = 1.0e-10


class SolverError(RuntimeError):
    """A solve that did not converge after every recovery was tried."""


@dataclass(slots=True)
class SolveStats:
    """Accumulated solver statistics."""

    newton_iterations: int = 0
    krylov_iterations: int = 0
    solves: int = 0
    failures: int = 0
    seconds: float = 0.0
    last_reason: int = 0
    history: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain-data view for metrics files."""
        return {
            "newton_iterations": self.newton_iterations,
            "krylov_iterations": self.krylov_iterations,
            "nonlinear_solves": self.solves,
            "failed_solves": self.failures,
            "solve_seconds": round(self.seconds, 4),
        }


class Newton:
    """SNES over the model's unknowns, with a solver preset as data."""

    def __init__(
        self, model: CellModel, preset: str = "auto", overrides: dict | None = None
    ) -> None:
        self.model = model
        self.preset = presets.resolve(preset, model.num_dofs())
        nfields = len(model.unknowns)
        opts = presets.petsc_options(self.preset, nfields, overrides)
        self._base_atol = float(opts["snes_atol"])
        self.prefix = f"femli_{next(_counter)}_"
        self.problem = dolfinx.fem.petsc.NonlinearProblem(
            model.residual if nfields > 1 else model.residual[0],
            model.unknowns if nfields > 1 else model.unknowns[0],
            bcs=model.bcs,
            petsc_options_prefix=self.prefix,
            petsc_options=opts,
        )
        if self.preset == "iterative" and nfields > 1:
            self._set_fieldsplit()
        self.stats = SolveStats()
        self.reference_norm = 0.0
        self.problem.solver.setMonitor(self._monitor)

    def _monitor(self, snes, iteration: int, fnorm: float) -> None:
        """Track the largest initial residual norm: the problem's own residual scale."""
        if iteration == 0:
            self.reference_norm = max(self.reference_norm, fnorm)

    def _update_tolerances(self) -> None:
        """Absolute tolerance relative to the largest residual seen (the round-off floor
        sits ~1e-14 below it), so near-converged restarts are not chased below it."""
        snes = self.problem.solver
        floor = RELATIVE_FLOOR * self.reference_norm
        snes.setTolerances(atol=max(self._base_atol, floor))

    def _set_fieldsplit(self) -> None:
        """Index sets of each field in the monolithic block layout."""
        pc = self.problem.solver.getKSP().getPC()
        rstart = self.problem.A.getOwnershipRange()[0]
        sets, offset = [], rstart
        for k, u in enumerate(self.model.unknowns):
            n = u.function_space.dofmap.index_map.size_local
            iset = PETSc.IS().createStride(n, first=offset, step=1, comm=self.model.domain.comm)
            sets.append((str(k), iset))
            offset += n
        pc.setFieldSplitIS(*sets)
        self.problem.solver.setFromOptions()

    def snapshot(self) -> list[np.ndarray]:
        """Copies of the unknowns' local arrays."""
        return [u.x.array.copy() for u in self.model.unknowns]

    def restore(self, state: list[np.ndarray]) -> None:
        """Put back a :meth:`snapshot`."""
        for u, a in zip(self.model.unknowns, state, strict=True):
            u.x.array[:] = a

    def solve(self) -> bool:
        """One Newton solve from the current state. Returns convergence; restores on failure."""
        state = self.snapshot()
        self._update_tolerances()
        snes = self.problem.solver
        start = time.perf_counter()
        try:
            self.problem.solve()
            reason = snes.getConvergedReason()
        except PETSc.Error:
            reason = -100
        finite = all(np.isfinite(u.x.array).all() for u in self.model.unknowns)
        converged = self.model.domain.comm.allreduce(reason > 0 and finite, op=MPI.LAND)
        self.stats.seconds += time.perf_counter() - start
        self.stats.solves += 1
        self.stats.last_reason = reason
        self.stats.newton_iterations += snes.getIterationNumber()
        self.stats.krylov_iterations += snes.getLinearSolveIterations()
        self.stats.history.append(snes.getIterationNumber())
        if not converged:
            self.stats.failures += 1
            self.restore(state)
        return bool(converged)
