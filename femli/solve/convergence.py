"""When a Newton iterate counts as converged: the size of the Newton step in physical units.

SNES's default test compares the residual with its first value in the solve. With
exponential kinetics that first value measures how bad the starting point was
(``i0 exp(alpha f |eta|)``, 1e12 and more at a large driving force), not how accurate
the end point is: one step from 7.8e12 to 13.9 passed ``rtol = 1e-10`` with the
concentrations at -8 900 mol/m^3 (issue 15). An absolute residual floor has no better
scale: the residual's units change with the mesh size and the kinetics.

:class:`StepTest` judges the iterate by the Newton step instead, in the unknowns' own
scales (concentrations over their bulk values, the potential in thermal voltages RT/F),
as COMSOL's default nonlinear test does. The Newton direction ``Y_k`` computed at
``x_{k-1}`` estimates that iterate's error; the iterate after the step, ``x_k``, is
nearer still: within ``theta/(1 - theta) |Y_k|`` when full steps contract by
``theta = |Y_k| / |Y_{k-1}| < 1/2`` (Deuflhard's estimate), within ``|Y_k|`` otherwise.
A damped step (line search) gives no contraction estimate. Bad iterates cannot inflate
this scale: a large step is a large error estimate.

Converged when the step says so, either way:

- the error estimate of ``x_k`` is below ``xtol`` (SNES reason 4, ``SNORM_RELATIVE``);
- the residual fell below ``rtol`` times its first value *and* the step that got there
  was a full Newton step smaller than ``guard`` (reason 3, ``FNORM_RELATIVE``): quadratic
  convergence then puts ``x_k`` within about ``guard**2`` (the usual exit, one Newton
  step earlier than the step test alone);

*and* the balances close (``closed()``, from
:class:`~femli.solve.admissible.StateCheck`): with near-reversible kinetics (i0 of
1e12 A/m^2) a potential error of 1e-10 RT/F is still a current error of 100 A/m^2, so a
small step alone does not make a result; Newton goes on until the balances close (or
its step limit). A residual of exactly zero has converged (reason 2).

Diverged: a non-finite residual (-4), ``max_it`` steps (-5), and a line search that
stalls (-6): :data:`STALLED` steps in a row each moving less than :data:`CRAWL` of the
Newton direction (PETSc's backtracking returns such steps as successes when the
residual norm is a poor merit function, e.g. with i0 = 1e12 A/m^2; the caller then
tries the error-oriented line search). A failed linear solve is SNES's own verdict,
before this test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

__all__ = ["StepTest"]

CONVERGED_FNORM_ABS = 2
CONVERGED_FNORM_RELATIVE = 3
CONVERGED_SNORM_RELATIVE = 4
DIVERGED_FNORM_NAN = -4
DIVERGED_MAX_IT = -5
DIVERGED_LINE_SEARCH = -6

#: A damped step that moves less than this share of the Newton direction crawls ...
CRAWL = 1.0e-3
#: ... and this many crawling steps in a row are a stalled line search.
STALLED = 3

#: A step counts as full (no line-search damping) when the iterate moved by this share
#: of the Newton direction or more.
FULL_STEP = 1.0 - 1.0e-6


class StepTest:
    """SNES convergence test on the scaled Newton step (see the module docstring).

    Args:
        sizes: locally owned entries of each unknown field, in the order of the SNES
            vector's blocks (a nested vector's blocks, or a blocked vector's slices).
        scales: the natural size of each field's values (mol/m^3 for a concentration,
            V for the potential): steps are measured in these units.
        comm: the mesh communicator (the test is collective, as SNES calls it on all
            ranks).
        xtol: error estimate, in the scaled units, below which an iterate has converged.
        rtol: residual reduction accepted after a small full step (``guard``).
        guard: largest scaled full step after which the residual reduction counts.
        max_it: Newton steps before the solve is declared diverged.
        closed: ``closed()`` says whether the balances of the current iterate close
            (None: not checked). Collective.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        scales: Sequence[float],
        comm: MPI.Comm,
        xtol: float = 1.0e-10,
        rtol: float = 1.0e-10,
        guard: float = 1.0e-5,
        max_it: int = 40,
        closed: Callable[[], bool] | None = None,
    ) -> None:
        if len(sizes) != len(scales) or not all(s > 0 for s in scales):
            raise ValueError(f"one positive scale per field, got {list(scales)} for {sizes}")
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.weights = 1.0 / np.asarray(scales, dtype=float)
        self.comm = comm
        self.xtol, self.rtol, self.guard, self.max_it = xtol, rtol, guard, max_it
        self.closed = closed
        self._previous: PETSc.Vec | None = None
        self._first_norm = 0.0
        self._last_step = np.inf
        self._last_full = False
        self._crawling = 0
        #: the error estimate (scaled) of the last iterate tested
        self.error = np.inf

    def reset(self) -> None:
        """Forget the previous solve (its last iterate and steps)."""
        self._first_norm, self._last_step, self._last_full = 0.0, np.inf, False
        self._crawling = 0
        self.error = np.inf

    def scaled_max(self, vec: PETSc.Vec) -> float:
        """Largest entry of ``vec`` over all ranks, each field in its own scale. Collective."""
        if vec.getType() == PETSc.Vec.Type.NEST:
            parts = [sub.getArray(readonly=True) for sub in vec.getNestSubVecs()]
        else:
            data = vec.getArray(readonly=True)
            parts = [data[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]
        local = max(
            (
                w * float(np.abs(p).max(initial=0.0))
                for w, p in zip(self.weights, parts, strict=True)
            ),
            default=0.0,
        )
        return self.comm.allreduce(local, op=MPI.MAX)

    def _keep(self, x: PETSc.Vec) -> None:
        if self._previous is None:
            self._previous = x.duplicate()
        x.copy(self._previous)

    def __call__(self, snes: PETSc.SNES, it: int, norms: tuple[float, float, float]) -> int:
        fnorm = norms[2]
        x = snes.getSolution()
        if not np.isfinite(fnorm):
            return DIVERGED_FNORM_NAN
        if it == 0:
            self.reset()
            self._first_norm = fnorm
            self._keep(x)
            return CONVERGED_FNORM_ABS if fnorm == 0.0 else 0
        reason = self._judge(snes, x, fnorm)
        self._keep(x)
        if reason == 0 and it >= self.max_it:
            return DIVERGED_MAX_IT
        return reason

    def _judge(self, snes: PETSc.SNES, x: PETSc.Vec, fnorm: float) -> int:
        """The verdict on the iterate ``x`` after a step (0: go on). Collective."""
        direction = self.scaled_max(snes.getSolutionUpdate())
        self._previous.axpy(-1.0, x)  # -(the step actually taken)
        taken = self.scaled_max(self._previous)
        full = taken >= FULL_STEP * direction
        self._crawling = self._crawling + 1 if taken < CRAWL * direction else 0
        if self._crawling >= STALLED:
            return DIVERGED_LINE_SEARCH
        error = direction
        if full and self._last_full and direction < 0.5 * self._last_step:
            theta = direction / self._last_step
            error = theta / (1.0 - theta) * direction
        self.error = error
        self._last_step, self._last_full = direction, full
        if fnorm == 0.0:
            return CONVERGED_FNORM_ABS
        reason = 0
        if error <= self.xtol:
            reason = CONVERGED_SNORM_RELATIVE
        elif full and direction <= self.guard and fnorm <= self.rtol * self._first_norm:
            reason = CONVERGED_FNORM_RELATIVE
        if reason and self.closed is not None and not self.closed():
            return 0  # a small step, but the balances are still open: go on
        return reason
