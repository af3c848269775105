"""One compiled Newton problem (PETSc SNES) with convergence checking.

The forms are compiled and the PETSc objects created once; :meth:`Newton.solve`
can be called any number of times (new potentials, time steps, continuation steps)
without recompilation or new PETSc objects (the matrix, vectors, KSP, field split and
multigrid hierarchy are kept). A diverged solve restores the previous state and reports
failure; it is never returned as a result.

When a solve has converged is :mod:`femli.solve.acceptance`'s question, whether its
state is a result :mod:`femli.solve.acceptance`'s; :mod:`femli.solve.stats` counts and
times the work.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import dolfinx
import numpy as np
import ufl
from dolfinx.fem import bcs_by_block
from mpi4py import MPI
from petsc4py import PETSc

from femli.mesh import Domain
from femli.solve import presets
from femli.solve.acceptance import StateCheck, StepTest
from femli.solve.problems import NestJacobian, NonlinearProblem, nest_residual
from femli.solve.stats import SolveStats

__all__ = [
    "DIVERGED_LINEAR_SOLVE",
    "DIVERGED_LINE_SEARCH",
    "Equations",
    "Newton",
    "SolverError",
    "reason_text",
]

_counter = itertools.count()
log = logging.getLogger(__name__)


class SolverError(RuntimeError):
    """A solve that did not converge after every recovery was tried."""


#: SNES reason of a Newton step whose linear solve failed (SNES_DIVERGED_LINEAR_SOLVE).
DIVERGED_LINEAR_SOLVE = -3
#: SNES reason of a line search that failed or stalled (SNES_DIVERGED_LINE_SEARCH).
DIVERGED_LINE_SEARCH = -6


class Equations(Protocol):
    """What :class:`Newton` solves: a :class:`~femli.physics.model.CellModel`, or a view
    of one that solves some of its equations
    (:class:`~femli.solve.step_control.ChargeBalance`)."""

    @property
    def domain(self) -> Domain: ...
    @property
    def residual(self) -> Sequence[ufl.Form]: ...
    @property
    def unknowns(self) -> Sequence[dolfinx.fem.Function]: ...
    @property
    def bcs(self) -> Sequence[dolfinx.fem.DirichletBC]: ...

    def num_dofs(self) -> int:
        """Global number of unknowns."""
        ...

    def unknown_scales(self) -> list[float]:
        """The natural size of each unknown's values (mol/m^3, V)."""
        ...


class Newton:
    """SNES over the model's unknowns, with a solver preset as data.

    A solve counts as converged when the Newton step says so in the unknowns' own
    scales (:class:`~femli.solve.acceptance.StepTest`) and the state passes
    :class:`~femli.solve.acceptance.StateCheck`. ``guess=True`` keeps PETSc's relative
    residual test and no check, for initial guesses that are never a result (loose
    ``snes_rtol`` overrides apply to them). Recoveries inside a solve: a
    failed linear solve is retried with the preconditioner rebuilt at every step, then
    (iterative preset, up to :data:`~femli.solve.presets.DIRECT_FALLBACK_LIMIT`
    unknowns) with a direct solver. :attr:`failure` says why the last solve failed.
    """

    def __init__(
        self,
        model: Equations,
        preset: str = "auto",
        overrides: dict | None = None,
        guess: bool = False,
    ) -> None:
        start = time.perf_counter()
        self.model = model
        self.preset = presets.resolve(preset, model.num_dofs(), model.domain.dim)
        self._overrides = overrides
        nfields = len(model.unknowns)
        opts = presets.petsc_options(self.preset, nfields, overrides)
        # the preconditioner lag is applied here (petsc4py cannot change PETSc's own
        # between solves, and a failed linear solve is retried without it)
        self._lag = int(opts.pop("snes_lag_preconditioner", 1))
        self._lag_now = self._lag  # 1 while a failed linear solve is retried
        #: Newton steps per Jacobian in the next solves (:meth:`chord`); 1: every step
        self.jacobian_every = 1
        self._age: int | None = None  # Jacobians since the preconditioner was built
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
        self.check = None if guess else self._state_check()
        self.test = None if guess else self._step_test(opts)
        #: why the last solve failed ("" after a converged one)
        self.failure = ""
        self._direct: Newton | None = None  # the fallback for failed linear solves
        self._install_callbacks(nest=split)
        self.stats.setup_seconds = time.perf_counter() - start

    def _step_test(self, opts: dict) -> StepTest:
        """The convergence test on the scaled Newton step, installed on the SNES."""
        rtol, max_it = float(opts["snes_rtol"]), int(opts["snes_max_it"])
        sizes = [
            u.function_space.dofmap.index_map.size_local * u.function_space.dofmap.index_map_bs
            for u in self.model.unknowns
        ]
        comm = self.model.domain.comm
        scales = self.model.unknown_scales()
        assert self.check is not None  # made before the test (not a guess)
        test = StepTest(sizes, scales, comm, rtol=rtol, max_it=max_it, closed=self.check.closed)
        # petsc4py's stubs want a ConvergedReason back; the test returns its int value
        self.problem.solver.setConvergenceTest(test)  # type: ignore[arg-type]
        return test

    def _state_check(self) -> StateCheck:
        """The admissibility check of the solved equations (a view's cell model's)."""
        problem_forms = self.problem.F
        forms = list(problem_forms) if isinstance(problem_forms, Sequence) else [problem_forms]
        cell = getattr(self.model, "cell_model", self.model)
        return StateCheck(cell, forms, self.model.unknowns, self.model.bcs)

    def _install_callbacks(self, nest: bool = False) -> None:
        """The residual and Jacobian callbacks wrapped to time assembly (and lag).

        Monolithic matrices use DOLFINx's callbacks, nested ones :func:`nest_residual`
        and :class:`~femli.solve.problems.NestJacobian`. The callbacks reach this object
        through a weak reference: PETSc keeps them on the SNES, and a strong reference
        would make a cycle through a PETSc object that Python's garbage collector cannot
        break (every Newton, with its matrices and factorisations, would then live until
        the process ends).
        """
        snes, owner = self.problem.solver, weakref.ref(self)
        # petsc4py's stubs leave out the (function, args, kargs) triple these return
        function: Any = snes.getFunction()
        jacobian_function: Any = snes.getJacobian()
        b, (residual, r_args, r_kwargs) = function
        a, p, (jacobian, j_args, j_kwargs) = jacobian_function
        if nest:
            problem, bcs = self.problem, self.model.bcs
            unknowns = problem.u
            assert isinstance(unknowns, Sequence)  # a nested problem: one per field
            residual, r_args, r_kwargs = nest_residual, (unknowns, problem.F, bcs), {}
            jacobian = NestJacobian(self.model.residual, unknowns, bcs)
            j_args, j_kwargs = (), {}

        def timed_residual(*args, **kwargs):
            start = time.perf_counter()
            residual(*args, **kwargs)
            if (newton := owner()) is not None:
                newton.stats.assembly_seconds += time.perf_counter() - start
                newton.stats.residual_evaluations += 1

        def timed_jacobian(*args, **kwargs):
            start = time.perf_counter()
            newton = owner()
            if newton is not None and not newton._fresh_jacobian():
                return  # a chord step: the matrix (and its preconditioner) as they are
            jacobian(*args, **kwargs)
            if newton is not None:
                newton._apply_lag(nest)
                newton.stats.assembly_seconds += time.perf_counter() - start
                newton.stats.jacobian_evaluations += 1

        snes.setFunction(timed_residual, b, args=r_args, kargs=r_kwargs)
        snes.setJacobian(timed_jacobian, a, p, args=j_args, kargs=j_kwargs)

    def _fresh_jacobian(self) -> bool:
        """Whether this Newton step builds the Jacobian (every :attr:`jacobian_every` steps
        of a solve); the step test learns where the one in use was built."""
        it = self.problem.solver.getIterationNumber()
        near = self.test is not None and self.test.last_step <= presets.CHORD_STEP
        if it % self.jacobian_every and near:
            self.stats.jacobians_reused += 1
            return False
        if self.test is not None:
            self.test.jacobian_at = it
        return True

    @contextlib.contextmanager
    def chord(self, every: int = 2) -> Iterator[None]:
        """Solves inside build the Jacobian only every ``every`` Newton steps
        (Shamanskii's method: the steps between are chord steps with the last Jacobian).

        For solves from a nearby solution (a growth step's warm start: first scaled
        Newton step ~3e-5), where a Jacobian one step old is as good as a new one (the
        second step shrank 1e5-fold either way) and its assembly is 40 % of a step. A
        Jacobian is kept only after a step below :data:`~femli.solve.presets.CHORD_STEP`
        (scaled): a chord step contracts by about the last step's size, a Newton step by
        its square. The step test credits chord steps with linear contraction only.
        Recoveries from a failed solve build the Jacobian at every step.
        """
        if every < 1:
            raise ValueError(f"chord: every must be >= 1, got {every}")
        kept, self.jacobian_every = self.jacobian_every, every
        try:
            yield
        finally:
            self.jacobian_every = kept

    def _apply_lag(self, nest: bool) -> None:
        """Keep or rebuild the preconditioner at this Newton step (every :attr:`_lag_now`).

        The outer preconditioner and, for the field split, each block's multigrid (which
        sees its matrix changed and would be rebuilt anyway) are kept together. The
        blocks are looked up each time (no references kept beyond this call): they exist
        once the split has been set up, i.e. after the first step of a solve.
        """
        snes = self.problem.solver
        # a new solve builds its own: one kept from the solve before on a moved mesh (a
        # growth step) took 82 and 174 Krylov iterations where a fresh one took 30 and 39
        age = None if snes.getIterationNumber() == 0 else self._age
        reuse = age is not None and age < self._lag_now  # ages start at 1: lag 1 rebuilds
        self._age = age + 1 if age is not None and reuse else 1
        snes.getKSP().getPC().setReusePreconditioner(reuse)
        if not nest or reuse == self._blocks_reused:
            return
        for block in snes.getKSP().getPC().getFieldSplitSubKSP():
            block.getPC().setReusePreconditioner(reuse)
        self._blocks_reused = reuse

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

        A failed linear solve is retried from the same state with the preconditioner
        rebuilt on every Newton step, then with the direct fallback. A converged state
        that fails the admissibility check is a failure (:attr:`failure` says why).
        """
        state = self.snapshot()
        if self.test is not None:
            self.test.closed_at = None  # set again only by this solve's convergence
        if self.problem.A.getType() == "nest":
            self._impose_dirichlet()
        converged, reason = self._attempt()
        with self.chord(1):  # recoveries build the Jacobian at every step
            if not converged and reason == DIVERGED_LINEAR_SOLVE:
                converged, reason = self._recover_linear(state)
            if not converged and reason == DIVERGED_LINE_SEARCH and self.test is not None:
                converged, reason = self._recover_line_search(state)
        self.failure = "" if converged else reason_text(reason)
        if converged and self.check is not None:
            closed_at = self.test.closed_at if self.test is not None else None
            known = closed_at is not None and closed_at == self.problem.solver.getIterationNumber()
            problem = self.check(balances=not known)  # balances: checked by the test already
            if problem is not None:
                converged = False
                self.failure = f"Newton converged to an inadmissible state: {problem}"
        if not converged:
            self.stats.failures += 1
            self.restore(state)
        return converged

    def _recover_line_search(self, state: list[np.ndarray]) -> tuple[bool, int]:
        """After a stalled backtracking line search: the same solve with Deuflhard's
        error-oriented damping (PETSc ``nleqerr``; one more linear solve per step, but
        blind to the residual's scaling, which exponential kinetics make extreme)."""
        self.restore(state)
        self.stats.line_search_retries += 1
        search = self.problem.solver.getLineSearch()
        kind = search.getType()
        search.setType("nleqerr")
        try:
            return self._attempt()
        finally:
            search.setType(kind)

    def _recover_linear(self, state: list[np.ndarray]) -> tuple[bool, int]:
        """After a failed linear solve: rebuild the preconditioner at every step, then
        fall back to a direct solver (iterative preset, small enough problems)."""
        reason = DIVERGED_LINEAR_SOLVE
        self._age = None  # whatever preconditioner failed is not carried on
        if self._lag > 1:
            self.restore(state)
            self.stats.rebuild_retries += 1
            self._lag_now = 1
            try:
                converged, reason = self._attempt()
            finally:
                self._lag_now = self._lag
            if converged or reason != DIVERGED_LINEAR_SOLVE:
                return converged, reason
        if self.preset != "iterative" or self.model.num_dofs() > presets.DIRECT_FALLBACK_LIMIT:
            return False, reason
        self.restore(state)
        self.stats.direct_fallbacks += 1
        log.info("linear solver failed: this solve is retried with the direct solver")
        if self._direct is None:
            overrides = presets.direct_overrides(self._overrides)
            self._direct = Newton(self.model, "direct", overrides)
        converged, reason = self._direct._attempt()
        self.stats.newton_iterations += self._direct.stats.history[-1]
        return converged, reason

    def _attempt(self) -> tuple[bool, int]:
        """One SNES solve; (converged on every rank, the SNES reason agreed by the ranks).

        Both decide what happens next (a retry, a step cut), so they are reduced: a
        rank-local reason (a PETSc error on one rank) would send the ranks different ways.
        """
        snes = self.problem.solver
        start = time.perf_counter()
        try:
            self.problem.solve()
            # petsc4py's stubs: an int (a ConvergedReason value), typed as the class
            reason: int = snes.getConvergedReason()  # type: ignore[assignment]
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


def reason_text(reason: int) -> str:
    """What a SNES converged reason (negative: diverged) means, in words."""
    names = {v: k for k, v in vars(PETSc.SNES.ConvergedReason).items() if isinstance(v, int)}
    words = {
        DIVERGED_LINEAR_SOLVE: "the linear solver failed",
        -4: "the residual became non-finite",
        -5: "no convergence within the Newton step limit",
        -6: "the line search found no descent",
        -100: "PETSc raised an error",
    }
    name = names.get(reason, str(reason))
    return (
        f"Newton failed: {words.get(reason, name.lower().replace('_', ' '))} (SNES reason {reason})"
    )


def _forget_options(prefix: str) -> None:
    """Remove every PETSc option that starts with ``prefix`` from the global database."""
    opts = PETSc.Options()
    for name in [k for k in opts.getAll() if k.startswith(prefix)]:
        opts.delValue(name)
