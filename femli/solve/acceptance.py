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
That bound assumes linear convergence at the rate ``theta``; once a full step has shrunk
by :data:`QUADRATIC_THETA` or more, Newton is in its quadratic regime (``|Y_{k+1}| ~
c |Y_k|^2``, ``c`` from the last two steps) and ``x_k`` is within ``theta^2 |Y_k|``,
but never credited below :data:`INEXACT_FLOOR` ``|Y_k|`` (the Krylov solves' own error);
a chord step (the Jacobian built at an earlier iterate) contracts linearly and keeps the
linear bound.
The tertiary benchmark's Newton steps 3.2e-2, 2.6e-5 (theta 8e-4), 7.9e-12: the linear
bound put the second iterate at 2e-8 and asked for the third step, whose size shows the
second iterate's error: 8e-12, as the quadratic estimate (2e-11) said.
A damped step (line search) gives no contraction estimate. Bad iterates cannot inflate
this scale: a large step is a large error estimate.

Converged when the step says so, either way:

- the error estimate of ``x_k`` is below ``xtol`` (SNES reason 4, ``SNORM_RELATIVE``);
- the residual fell below ``rtol`` times its first value *and* the step that got there
  was a full Newton step smaller than ``guard`` (reason 3, ``FNORM_RELATIVE``): quadratic
  convergence then puts ``x_k`` within about ``guard**2`` (the usual exit, one Newton
  step earlier than the step test alone);

*and* the balances close (``closed()``, from
:class:`~femli.solve.acceptance.StateCheck`): with near-reversible kinetics (i0 of
1e12 A/m^2) a potential error of 1e-10 RT/F is still a current error of 100 A/m^2, so a
small step alone does not make a result; Newton goes on until the balances close (or
its step limit). A residual of exactly zero has converged (reason 2).

Diverged: a non-finite residual (-4), ``max_it`` steps (-5), and a line search that
stalls (-6): :data:`STALLED` steps in a row each moving less than :data:`CRAWL` of the
Newton direction (PETSc's backtracking returns such steps as successes when the
residual norm is a poor merit function, e.g. with i0 = 1e12 A/m^2; the caller then
tries the error-oriented line search). A failed linear solve is SNES's own verdict,
before this test.

Is a converged state a result? Finite values, non-negative concentrations, closed balances.

A Newton solve that stops is not yet a solution of the physics: :class:`StateCheck`
looks at the state with physical eyes before anyone reads it.

- **Finite**: every unknown is a number.
- **Concentrations** are non-negative within :data:`CONCENTRATION_TOL` of each species' bulk
  value (every species that varies: the solved ones, and one eliminated by
  electroneutrality, see :meth:`~femli.physics.transport.Transport.nodal_concentrations`).
- **Balances**: each solved equation, tested with ``v = 1``, is the balance of its
  quantity: what enters through the Dirichlet (bulk) boundaries, what the electrodes
  produce or consume and what is stored must add up. The Dirichlet inflow is the
  variationally consistent boundary flux (the residual's entries on the constrained
  nodes), so the balance defect is the sum of the residual over the free nodes. It must
  be below :data:`BALANCE_TOL` times the quantity's throughput: the Dirichlet fluxes
  (their magnitudes, node by node) plus the electrode currents (all in the residual's
  scaling), with a floor of 1e-9 of the diffusion-limited current ``F D c / L`` over the
  electrode area for a cell at rest, and, in a time step, :data:`STORAGE_ROUNDOFF` of the
  storage terms' size ``int c a0/h``: they cancel to the stored amount (``(c - c_n)/h``),
  and their round-off alone exceeded the floor in a step at rest (no current, h of 1e-6 s).
  A double layer's charging terms ``C_dl delta a0/h`` are the charge balance's storage: its
  size counts as ``C_dl (a0/h) RT/F`` over the electrode (a potential of 4e-19 V gave a
  defect of 2e-4 of the throughput at rest, h = 1.5e-10 s).

The galvanostatic current is the stationary driver's check
(:meth:`~femli.solve.stationary.StationarySolver.solve`), not this one's: Newton solves
at a given electrode potential.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dolfinx
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from femli.units import FARADAY

__all__ = [
    "BALANCE_TOL",
    "CONCENTRATION_TOL",
    "CONVERGED_FNORM_ABS",
    "CONVERGED_FNORM_RELATIVE",
    "CONVERGED_SNORM_RELATIVE",
    "CRAWL",
    "DIVERGED_FNORM_NAN",
    "DIVERGED_LINE_SEARCH",
    "DIVERGED_MAX_IT",
    "FULL_STEP",
    "INEXACT_FLOOR",
    "QUADRATIC_THETA",
    "REST_FLOOR",
    "STALLED",
    "STORAGE_ROUNDOFF",
    "StateCheck",
    "StepTest",
]


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

#: A full Newton step this much smaller than the one before marks the quadratic regime,
#: where the iterate's error is estimated as ``theta^2`` times the step ...
QUADRATIC_THETA = 1.0e-2
#: ... but at least this share of it (inexact Krylov solves, ``ksp_rtol`` 1e-9 and 1e-10).
INEXACT_FLOOR = 1.0e-6
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
        #: the Newton iteration whose iterate the Jacobian in use was built at, set by the
        #: solver (None: taken as built at every iterate); a step from a later iterate is
        #: a chord step, with linear contraction
        self.jacobian_at: int | None = None
        #: The iteration at which this test converged with the balances found closed
        #: (``closed()`` called on that very iterate), else None: the final admissibility
        #: check need not assemble them again.
        self.closed_at: int | None = None

    @property
    def last_step(self) -> float:
        """The scaled size of the last Newton direction of this solve (inf before one)."""
        return self._last_step

    def reset(self) -> None:
        """Forget the previous solve (its last iterate and steps)."""
        self._first_norm, self._last_step, self._last_full = 0.0, np.inf, False
        self._crawling = 0
        self.error = np.inf
        self.jacobian_at = None
        self.closed_at = None

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
        reason = self._judge(snes, x, fnorm, it)
        self._keep(x)
        if reason == 0 and it >= self.max_it:
            return DIVERGED_MAX_IT
        return reason

    def _judge(self, snes: PETSc.SNES, x: PETSc.Vec, fnorm: float, it: int) -> int:
        """The verdict on the iterate ``x`` after step ``it`` (0: go on). Collective."""
        direction = self.scaled_max(snes.getSolutionUpdate())
        previous = self._previous
        assert previous is not None  # kept at iteration 0
        previous.axpy(-1.0, x)  # -(the step actually taken)
        taken = self.scaled_max(previous)
        full = taken >= FULL_STEP * direction
        self._crawling = self._crawling + 1 if taken < CRAWL * direction else 0
        if self._crawling >= STALLED:
            return DIVERGED_LINE_SEARCH
        error = direction
        if full and self._last_full and direction < 0.5 * self._last_step:
            theta = direction / self._last_step
            error = theta / (1.0 - theta) * direction
            fresh = self.jacobian_at is None or self.jacobian_at == it - 1
            if theta <= QUADRATIC_THETA and fresh:
                error = max(theta * theta, INEXACT_FLOOR) * direction
        self.error = error
        self._last_step, self._last_full = direction, full
        if fnorm == 0.0:
            return CONVERGED_FNORM_ABS
        reason = 0
        if error <= self.xtol:
            reason = CONVERGED_SNORM_RELATIVE
        elif full and direction <= self.guard and fnorm <= self.rtol * self._first_norm:
            reason = CONVERGED_FNORM_RELATIVE
        if reason and self.closed is not None:
            if not self.closed():
                return 0  # a small step, but the balances are still open: go on
            self.closed_at = it
        return reason


#: Most negative concentration accepted, as a share of the species' bulk value.
CONCENTRATION_TOL = 1.0e-6

#: Largest balance defect accepted, as a share of the quantity's throughput.
BALANCE_TOL = 1.0e-6

#: Floor of the throughput: this share of the diffusion-limited current over the electrodes.
REST_FLOOR = 1.0e-9

#: In a time step, this share of the storage terms' size joins a species' throughput (the
#: accepted defect is then 1e-12 of it: round-off of terms that cancel, not an open balance).
STORAGE_ROUNDOFF = 1.0e-6


class StateCheck:
    """Admissibility of the state of ``model`` for the equations a Newton solves.

    Args:
        model: the :class:`~femli.physics.model.CellModel` (for the species and the
            electrode currents).
        forms: the compiled residual forms of the solved equations, in order.
        unknowns: the solved unknowns, one per form (``c_<species>`` or ``phi``).
        bcs: the Dirichlet conditions of the solve.
    """

    def __init__(self, model, forms: Sequence, unknowns: Sequence, bcs: Sequence) -> None:
        self.model, self.forms, self.unknowns = model, list(forms), list(unknowns)
        self._dirichlet = [self._constrained(u, bcs) for u in self.unknowns]
        self._currents = (
            []
            if not model.transport.has_kinetics
            else [dolfinx.fem.form(self._electrode_current(e)) for e in model.electrodes]
        )
        self._floor = self._rest_floor()
        dx, scale = model.domain.dx(), model.residual_scale
        self._storage = {
            u.name: dolfinx.fem.form(scale * model.rate_coefficient * abs(u) * dx)
            for u in self.unknowns
            if u.name.startswith("c_")
        }
        charging = self._charging_size()
        if charging is not None and any(u.name == "phi" for u in self.unknowns):
            self._storage["phi"] = dolfinx.fem.form(scale * charging)

    def _charging_size(self):
        """``C_dl (a0/h) (RT/F) / F`` over the double-layer electrodes (mol/s; per m in
        2D), or None without a double layer: the charging current that one thermal voltage
        of ``delta`` carries within a step. Its terms ``C_dl delta a0/h`` cancel to the
        charge stored, as the concentrations' do (zero in a steady state)."""
        model = self.model
        ds = model.domain.ds
        terms = [
            e.double_layer.capacitance * ds(b)
            for e in model.electrodes
            if e.double_layer is not None
            for b in e.boundaries
        ]
        if not terms:
            return None
        return model.interface.dl_rate / (model.f * FARADAY) * sum(terms[1:], terms[0])

    def _electrode_current(self, electrode):
        """The electrode's current (A; A/m in 2D) as a form to take the magnitude of; with
        several currents on one boundary (reactions, the double layer's charging) the
        integral of their magnitudes, as they may cancel."""
        model, ds = self.model, self.model.domain.ds
        parts = {b: model.interface.parts(electrode, b) for b in electrode.boundaries}
        if all(len(p) == 1 for p in parts.values()):
            return sum(p[0] * ds(b) for b, p in parts.items())
        return sum(sum(abs(i) for i in p) * ds(b) for b, p in parts.items())

    def _constrained(self, u, bcs) -> np.ndarray:
        """This rank's owned Dirichlet dofs of unknown ``u``."""
        space = u.function_space
        owned = space.dofmap.index_map.size_local * space.dofmap.index_map_bs
        per_bc = [bc.dof_indices()[0] for bc in bcs if bc.function_space == space._cpp_object]
        if not per_bc:
            return np.zeros(0, dtype=np.int32)
        dofs = np.unique(np.concatenate(per_bc))
        return dofs[dofs < owned]

    def _rest_floor(self) -> float:
        """Throughput floor (residual units): 1e-9 x F D c / L over the electrode area."""
        model = self.model
        area = sum(model.domain.measure(*e.boundaries) for e in model.electrodes)
        length = model.domain.measure(boundary=False) ** (1.0 / model.domain.dim)
        d = max(s.diffusivity for s in model.electrolyte.species)
        c = model.electrolyte.reacting_species.concentration
        return REST_FLOOR * model.residual_scale * d * c * area / length

    def __call__(self, balances: bool = True) -> str | None:
        """None if the state is admissible, else what is wrong (one phrase); without
        ``balances`` when the caller has just found them closed on this very state (the
        convergence test: :attr:`StepTest.closed_at`). Collective."""
        comm = self.model.domain.comm
        finite = all(np.isfinite(u.x.array).all() for u in self.unknowns)
        if not comm.allreduce(finite, op=MPI.LAND):
            return "the solution holds non-finite values"
        problem = self._negative_concentration()
        if problem is not None or not balances:
            return problem
        return self._open_balance()

    def concentration_minima(self) -> dict[str, float]:
        """Smallest nodal concentration of each species (mol/m^3) over all ranks."""
        model, comm = self.model, self.model.domain.comm
        arrays = model.transport.nodal_concentrations(model)
        return {
            name: comm.allreduce(float(a.min(initial=np.inf)), op=MPI.MIN)
            for name, a in arrays.items()
        }

    def _negative_concentration(self) -> str | None:
        if not any(u.name.startswith("c_") for u in self.unknowns):
            return None  # the concentrations are not solved here
        electrolyte = self.model.electrolyte
        for name, low in self.concentration_minima().items():
            bulk = electrolyte.species_named(name).concentration
            if low < -CONCENTRATION_TOL * bulk:
                return f"the {name} concentration is negative (min {low:.4g} mol/m^3)"
        return None

    def defects(self) -> list[tuple[str, float, float]]:
        """(unknown name, balance defect, throughput) of each solved equation. Collective."""
        comm = self.model.domain.comm
        currents = sum(
            abs(comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)) for f in self._currents
        )
        electrodes = self.model.residual_scale * currents / FARADAY
        out = []
        for form, u, fixed in zip(self.forms, self.unknowns, self._dirichlet, strict=True):
            vec = dolfinx.fem.assemble_vector(form)
            vec.scatter_reverse(dolfinx.la.InsertMode.add)
            owned = u.function_space.dofmap.index_map.size_local
            values = vec.array[:owned]
            local = (float(values.sum() - values[fixed].sum()), float(np.abs(values[fixed]).sum()))
            defect, inflow = comm.allreduce(np.array(local), op=MPI.SUM)
            storage = self._storage_size(u.name)
            out.append((u.name, float(defect), float(inflow) + electrodes + self._floor + storage))
        return out

    def _storage_size(self, name: str) -> float:
        """:data:`STORAGE_ROUNDOFF` x the storage terms' size of unknown ``name`` (residual
        units; 0 in a steady state). Collective."""
        form = self._storage.get(name)
        if form is None:
            return 0.0
        local = dolfinx.fem.assemble_scalar(form)
        return STORAGE_ROUNDOFF * abs(self.model.domain.comm.allreduce(local, op=MPI.SUM))

    def closed(self) -> bool:
        """Whether every balance closes (the convergence test's question). Collective."""
        return self._open_balance() is None

    def _open_balance(self) -> str | None:
        for name, defect, throughput in self.defects():
            if abs(defect) > BALANCE_TOL * throughput:
                what = "charge" if name == "phi" else f"{name[2:]} species"
                return (
                    f"the {what} balance does not close (defect {abs(defect) / throughput:.2g} "
                    "of the throughput)"
                )
        return None
