"""Time-dependent solves: implicit variable-step BDF1/BDF2 with adaptive steps (SI units).

A BDF step of size ``h`` (s) writes ``dc/dt ~ (a0 c_{n+1} + a1 c_n + a2 c_{n-1}) / h``;
the model's storage term ``porosity * (rate_coefficient * c + history)`` takes it with
``rate_coefficient = a0 / h`` (1/s) and ``history = (a1 c_n + a2 c_{n-1}) / h``
(mol/(m^3 s)), updated in place: nothing is recompiled in the time loop.

Scheme: variable-step BDF2 (zero-stable for step ratios < 1 + sqrt 2) after one BDF1
step. Step size: local error from corrector minus polynomial predictor (Milne's device,
exact for cubic solutions) against ``tolerance``, and a cap on the relative change of
the concentrations per step. Newton failures halve the step down to ``dt_min``.

Initial potential: the potential jumps at ``t = 0+`` to what the initial
concentrations allow (the charge balance has no time derivative). It is solved first
with the concentrations frozen (Newton on the charge-balance row alone over ``phi``),
so the ``t = 0`` record is exact (e.g. the ohmic and kinetic jump of a current pulse)
and step 1 starts converged. (A storage term ``(c - c0)/tau`` with tiny ``tau`` would
freeze c only approximately and loses the residual to round-off.)

A double layer's nodal ``delta`` (V) is carried like a concentration (error in units of
RT/F, no change cap); it cannot jump, so such a march starts at rest, unsolved (:meth:`start`).

Electrode control reuses :class:`~femli.solve.stationary.StationarySolver`'s
continuation and Broyden galvanostatic loop with one plain Newton solve per state
(:mod:`femli.solve.step_control`). :meth:`TransientSolver.state` gives everything a march
needs to go on (checkpoints), :meth:`TransientSolver.restore` puts it back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import dolfinx
import numpy as np
from mpi4py import MPI

from femli.physics.model import CellModel, ModelState
from femli.solve import presets
from femli.solve.bdf import (
    BDF2_MAX_RATIO,
    TransientOptions,
    bdf_coefficients,
    error_weight,
    extrapolate,
)
from femli.solve.newton import Newton, SolverError
from femli.solve.stationary import StationaryOptions
from femli.solve.step_control import ChargeBalance, StepControl

log = logging.getLogger(__name__)

#: A failed step names depletion as the cause below this share of the bulk concentration
#: at the electrode (or when the step's state had negative concentrations).
DEPLETED = 0.1

__all__ = [
    "BDF2_MAX_RATIO",
    "DEPLETED",
    "TransientOptions",
    "TransientSolver",
    "bdf_coefficients",
    "error_weight",
    "extrapolate",
]


class TransientSolver:
    """Marches a :class:`CellModel` in time from its current state (SI units).

    A new model holds the uniform bulk state; ``model.set_initial_state()`` resets it.
    Only ``model.rate_coefficient`` and ``model.history`` change during a run; both are
    zero again afterwards (the model is left stationary at the last accepted state).
    """

    def __init__(self, model: CellModel, options: TransientOptions) -> None:
        self.model, self.options = model, options
        control = StationaryOptions(
            options.preset,
            current_rtol=options.current_rtol,
            max_control_iterations=options.max_control_iterations,
            petsc_overrides=options.petsc_overrides,
        )
        self.control = StepControl(model, control)
        self.newton, self.currents = self.control.newton, self.control.currents
        self.species = model.species_unknowns
        self.c_bulk = np.array([s.concentration for s in self.species])
        #: the scale of each carried array: mol/m^3, then RT/F (V) for a double layer's delta
        self.scales = np.append(self.c_bulk, [1.0 / model.f] * model.interface.has_double_layer)
        self.reacting = next(
            (k for k, s in enumerate(self.species) if s.name == model.electrolyte.reacting), None
        )
        locate, fdim = dolfinx.fem.locate_dofs_topological, model.domain.dim - 1
        facets = model.domain.facets
        self._electrode_dofs = {
            e.name: locate(model.space, fdim, facets(*e.boundaries)) for e in model.electrodes
        }
        self.t = 0.0
        self.records: list[dict] = []
        self.depletion_time: float | None = None
        self.stop_reason: str | None = None
        self._past: list[tuple[float, list[np.ndarray]]] = []  # newest first, <= 3
        self._accepted = ModelState([], {})
        #: the step (s) the error control proposes next (set by each accepted step)
        self.next_step = options.steps.dt_initial
        #: ``before_solve(h, (a0, a1, a2))`` before each step's solve (mesh velocity, ALE)
        self.before_solve: Callable[[float, tuple[float, float, float]], None] | None = None

    # -- state helpers -------------------------------------------------------------
    def _concentrations(self) -> list[np.ndarray]:
        """The carried arrays: concentrations (mol/m^3), a double layer's delta (V)."""
        arrays = [u.x.array.copy() for u in self.model.unknowns[: len(self.species)]]
        if self.model.interface.has_double_layer:
            arrays.append(self.model.interface.delta_nodes())
        return arrays

    def _set_time_terms(self, rate: float, history: list[np.ndarray]) -> None:
        # DOLFINx annotates Constant.value's setter as an array; it takes any array-like
        self.model.rate_coefficient.value = rate  # type: ignore[assignment]
        for h, values in zip(self.model.history, history, strict=False):
            h.x.array[:] = values

    def _clear_time_terms(self) -> None:
        """Leave the model stationary (rate coefficient and history zero)."""
        self._set_time_terms(0.0, [np.zeros_like(h.x.array) for h in self.model.history])
        self.model.interface.clear_time_terms()

    # -- state (checkpoints) ---------------------------------------------------------
    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]:
        """Everything a run needs to go on between steps as if it had never stopped, as
        plain data: ``meta`` (JSON-able) the time (s), records, depletion time and stop
        reason, with :meth:`StationarySolver.state` and :meth:`history_state`;
        ``arrays`` the unknowns and the BDF history (local arrays)."""
        meta, arrays = self.control.state()
        history, past = self.history_state()
        run = {"t": self.t, "records": self.records, "depletion_time": self.depletion_time}
        return {**run, "stop_reason": self.stop_reason, **meta, **history}, arrays | past

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
        """Put back a :meth:`state` (a new solver on the saved mesh)."""
        self.control.restore(meta, arrays)
        self.t = float(meta["t"])
        self.records = list(meta["records"])
        self.depletion_time = meta["depletion_time"]
        self.stop_reason = meta["stop_reason"]
        self.restore_history(meta, arrays)

    def history_state(self) -> tuple[dict, dict[str, list[np.ndarray]]]:
        """The BDF history and step-size control: past times (s), next step (s), the
        Broyden Jacobian of the galvanostatic control (A/m^2 per V); the past
        concentrations as arrays ``past_k`` (newest first)."""
        jacobian = self.control.jacobian
        meta = {
            "past_times": [t for t, _ in self._past],
            "next_step": self.next_step,
            "jacobian": None if jacobian is None else np.asarray(jacobian).tolist(),
        }
        arrays = {f"past_{k}": values for k, (_, values) in enumerate(self._past)}
        return meta, arrays | self.model.interface.state()

    def restore_history(self, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
        """Put back a :meth:`history_state` (after the unknowns and potentials: the present
        state becomes the last accepted one)."""
        self._past = [(t, arrays[f"past_{k}"]) for k, t in enumerate(meta["past_times"])]
        self.model.interface.restore(arrays)
        self.next_step = float(meta["next_step"])
        self._accepted = self.model.snapshot()
        if meta["jacobian"] is not None:
            self.control.jacobian = np.array(meta["jacobian"], dtype=float)

    # -- observables -----------------------------------------------------------------
    def electrode_minimum(self) -> dict[str, float]:
        """Smallest reacting-species concentration on each electrode (mol/m^3)."""
        if self.reacting is None:  # uniform concentration models
            value = self.model.electrolyte.reacting_species.concentration
            return dict.fromkeys(self._electrode_dofs, float(value))
        c, out = self.model.unknowns[self.reacting].x.array, {}
        for name, dofs in self._electrode_dofs.items():
            local = float(c[dofs].min()) if dofs.size else math.inf
            out[name] = self.model.domain.comm.allreduce(local, op=MPI.MIN)
        return out

    def _record(self, dt: float, iterations: int, rejected: int) -> dict:
        """Append and return the record of the state at ``self.t``. Collective."""
        record = {
            "step": len(self.records),
            "t": float(self.t),
            "dt": float(dt),
            "newton_iterations": iterations,
            "rejected": rejected,
            "potential": {k: c.value.item() for k, c in self.model.potentials.items()},
            "current": {e.name: self.currents.total(e) for e in self.model.electrodes},
            "c_min": self.electrode_minimum(),
        }
        self.records.append(record)
        return record

    # -- start -----------------------------------------------------------------------
    def start(self) -> int:
        """Potential at :attr:`t` with the concentrations frozen; the BDF history restarts
        from this state (the next step is first order). Returns the Newton iterations.

        Used at t = 0 and, in growth runs, on a remeshed domain. Collective. With a double
        layer nothing is solved (its charge cannot jump): at t = 0 every electrode is set
        to its equilibrium potential (rest), later the present state is kept.
        """
        if self.model.interface.has_double_layer:
            if self.t == 0.0:
                for e in self.model.electrodes:
                    self.model.set_potential(e, e.equilibrium_potential)
            self._past = [(self.t, self._concentrations())]
            self._accepted = self.model.snapshot()
            return 0
        control = self.control
        if self.species:
            view = ChargeBalance(self.model)
            newton = Newton(view, self.options.preset, self.options.petsc_overrides)
            control = StepControl(self.model, self.control.options, newton)
        ok = control.solve_or_ramp()
        if not ok:
            raise SolverError(
                f"transient start: the potential at t = {self.t:.6g} s (concentrations "
                "frozen) did not converge with Newton and continuation in the applied "
                f"driving force; last SNES reason {control.newton.stats.last_reason}"
            )
        self._past = [(self.t, self._concentrations())]
        self._accepted = self.model.snapshot()
        return control.newton.stats.newton_iterations

    # -- one step --------------------------------------------------------------------
    def _order(self) -> int:
        return 2 if self.options.scheme == "bdf2" and len(self._past) >= 2 else 1

    def _attempt(self, h: float, order: int) -> bool:
        """Solve the step ``t -> t + h`` of the given BDF order; restores on failure."""
        (t_n, c_n), *older = self._past
        h_prev = t_n - older[0][0] if order == 2 else None
        a0, a1, a2 = bdf_coefficients(h, h_prev)
        history = [a1 * c / h for c in c_n]
        if order == 2:
            history = [x + a2 * c / h for x, c in zip(history, older[0][1], strict=True)]
        self._set_time_terms(a0 / h, history)
        past = [c_n] + ([older[0][1]] if order == 2 else [])  # delta is carried last
        self.model.interface.set_time_terms(h, (a0, a1, a2), [p[-1] for p in past if p])
        if self.before_solve is not None:
            self.before_solve(h, (a0, a1, a2))
        with self.newton.chord(presets.WARM_JACOBIAN_EVERY):  # from the step before: nearby
            solved = self.control.solve_at(1.0)
        if solved:
            return True
        self.control.reset_jacobian()
        self.model.restore(self._accepted)
        return False

    def _estimate(self, h: float, order: int) -> tuple[float, float]:
        """(local error estimate, relative change) of the step just solved, max norms."""
        new = self._concentrations()
        if not new:
            return 0.0, 0.0
        scale = self.scales
        old = self._past[0][1]
        n = len(self.species)  # the change cap is on the concentrations only
        pairs = zip(new[:n], old[:n], scale[:n], strict=True)
        change = max((np.abs(a - b).max(initial=0.0) / s for a, b, s in pairs), default=0.0)
        error = 0.0
        if len(self._past) > order:
            used = self._past[: order + 1]
            times = [t for t, _ in used]
            h2 = times[1] - times[2] if order == 2 else 0.0
            weight = error_weight(order, h, times[0] - times[1], h2)
            for k, (c, s) in enumerate(zip(new, scale, strict=True)):
                pred = extrapolate(times, [past[k] for _, past in used], self.t + h)
                error = max(error, weight * np.abs(c - pred).max(initial=0.0) / s)
        comm = self.model.domain.comm
        return comm.allreduce(error, op=MPI.MAX), comm.allreduce(change, op=MPI.MAX)

    def _factor(self, error: float, change: float, order: int) -> float:
        """Step factor from the error estimate and the change cap, in [0.2, max_growth]."""
        opts = self.options
        factor = opts.max_growth
        if error > 0:
            factor = min(factor, opts.safety * (opts.tolerance / error) ** (1.0 / (order + 1)))
        if change > 0:
            factor = min(factor, opts.safety * opts.max_change / change)
        return max(factor, 0.2)

    def try_step(self, h: float) -> tuple[str, float]:
        """One attempt at the step ``t -> t + h``. Collective.

        Returns ``("accepted", next step)`` with :attr:`t`, the history and
        :attr:`next_step` advanced,
        ``("rejected", smaller step)`` when the error estimate or the change is too large,
        or ``("failed", h / 2)`` when Newton failed; a step not accepted leaves the last
        accepted state in the model.
        """
        opts, order = self.options, self._order()
        dt_min = opts.steps.dt_min
        if not self._attempt(h, order):
            return "failed", max(0.5 * h, dt_min)
        error, change = self._estimate(h, order)
        factor = self._factor(error, change, order)
        too_big = error > opts.tolerance or change > opts.max_change
        if too_big and h > dt_min:
            self.model.restore(self._accepted)
            return "rejected", max(h * min(factor, 0.9), dt_min)
        if too_big:
            log.warning("t = %.6g s: step of dt_min accepted, error %.3g", self.t, error)
        self.model.interface.accept_step(h)  # a growing film's passed charge
        self.t += h
        self._past = [(self.t, self._concentrations()), *self._past[:2]]
        self._accepted = self.model.snapshot()
        self.next_step = max(h * factor, dt_min)
        return "accepted", self.next_step

    def _advance(self, h: float) -> tuple[float, float, int]:
        """One accepted step from ``self.t``; returns (step, next step, rejections)."""
        rejected, first = 0, h
        while True:
            status, h_next = self.try_step(h)
            if status == "accepted":
                return h, h_next, rejected
            if status == "failed" and h <= self.options.steps.dt_min:
                raise SolverError(self._failure_message(first, h))
            h, rejected = h_next, rejected + 1

    def _failure_message(self, first: float, h: float) -> str:
        """What was tried, and a depleted electrode named as the likely cause. Collective."""
        control = " and the galvanostatic control" if self.control.galvanostatic else ""
        why = self.newton.failure or "the control did not reach the applied current"
        text = (
            f"time step from t = {self.t:.6g} s did not converge: Newton{control} failed "
            f"for dt = {first:.3g} s and every halving down to dt_min = {h:.3g} s ({why}); "
            f"the state at t = {self.t:.6g} s is kept"
        )
        c_min = min(self.electrode_minimum().values())
        bulk = self.model.electrolyte.reacting_species.concentration
        negative = "concentration is negative" in self.newton.failure
        if self.reacting is not None and (c_min < DEPLETED * bulk or negative):
            text += (
                f"; the reacting species is depleted at the electrode (c_min = {c_min:.3g} "
                f"of {bulk:.3g} mol/m^3): the current exceeds what transport can carry "
                "(stop earlier with [time] stop_when_depleted)"
            )
        return text

    # -- run -------------------------------------------------------------------------
    def _limit(self, h: float) -> float:
        """Clip a step to dt_max, the end time, and the approach of the depletion stop."""
        opts, remaining = self.options, self.options.t_end - self.t
        h = min(h, opts.steps.dt_max)
        h = remaining if h >= remaining else (remaining / 2 if 2 * h > remaining else h)
        frac = opts.stop_when_depleted
        if frac is not None and len(self.records) >= 2:
            prev, now = (min(r["c_min"].values()) for r in self.records[-2:])
            slope = (now - prev) / self.records[-1]["dt"]
            # aim at half the threshold: overshooting towards c = 0 only costs Newton failures
            target = 0.5 * frac * self.model.electrolyte.reacting_species.concentration
            if slope < 0 and now > target:
                h = min(h, max((now - target) / -slope, opts.steps.dt_min))
        return h

    def _depleted(self) -> bool:
        """True once the electrode minimum is below the stop fraction; sets depletion_time."""
        frac = self.options.stop_when_depleted
        if frac is None:
            return False
        target = frac * self.model.electrolyte.reacting_species.concentration
        now = min(self.records[-1]["c_min"].values())
        if now >= target:
            return False
        if len(self.records) == 1:
            self.depletion_time = self.t
            return True
        prev = min(self.records[-2]["c_min"].values())
        share = float(np.clip((prev - target) / (prev - now), 0.0, 1.0))
        dt = self.records[-1]["dt"]
        self.depletion_time = self.t - dt + share * dt
        return True

    def run(self, callback: Callable[[TransientSolver, dict], bool | None] | None = None):
        """March from the model's current state to ``t_end``. Collective.

        Stops early when the depletion condition is met (``stop_reason == "depleted"``,
        crossing time in :attr:`depletion_time`, s) or when ``callback(solver, record)``
        returns True (``"callback"``); the callback sees every record, t = 0 included.

        Returns:
            The per-step records (also :attr:`records`): ``step``, ``t`` and ``dt`` (s),
            ``newton_iterations`` (all solves of the step, rejected ones included),
            ``rejected`` (step attempts thrown away), and per electrode name
            ``potential`` (V), ``current`` (A; A/m per unit depth in 2D, anodic positive)
            and ``c_min`` (smallest reacting-species concentration, mol/m^3).

        Raises:
            SolverError: a step failed down to ``dt_min``; the last accepted state
                (time :attr:`t`) stays in the model.
        """
        opts = self.options
        self.stop_reason = "t_end"
        try:
            if not self.records:
                self._record(0.0, self.start(), 0)
                if self._stop(callback):
                    return self.records
            h = self.next_step
            while self.t < opts.t_end * (1.0 - 1.0e-12):
                its = self.newton.stats.newton_iterations
                used, h, rejected = self._advance(self._limit(h))  # h: self.next_step
                self._record(used, self.newton.stats.newton_iterations - its, rejected)
                if self._stop(callback):
                    break
        finally:
            self._clear_time_terms()
        return self.records

    def _stop(self, callback) -> bool:
        """Call the callback on the newest record; True (with the reason) to stop."""
        asked = callback is not None and bool(callback(self, self.records[-1]))
        if self._depleted() or asked:
            self.stop_reason = "callback" if self.depletion_time is None else "depleted"
        return self.depletion_time is not None or asked
