"""Stationary solves: initial guess, continuation, galvanostatic control, closed cells.

Strategy, in order:

1. Initial guess: for the concentration models (tertiary, supporting) the secondary
   (Ohmic) solution with the same kinetics gives the potential; concentrations start
   at their bulk values.
2. Newton at the full driving force. If it fails, continuation: the applied
   electrode potentials (or currents) are ramped from equilibrium, with the step
   halved on every failure.
3. Galvanostatic electrodes: the electrode potentials are global unknowns, found by
   a Broyden iteration on ``mean current density - target`` around the inner solve.
4. Closed cells (no boundary fixes the concentration, e.g. two electrodes facing
   each other): the salt amount is conserved by marching the transient equations
   to steady state with growing implicit steps (pseudo-transient continuation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from femli.physics.conditions import Electrode
from femli.physics.derived import ElectrodeCurrents
from femli.physics.electrolyte import Electrolyte
from femli.physics.model import CellModel, ModelState
from femli.solve import presets
from femli.solve.newton import Newton, SolverError
from femli.solve.stats import SolveStats

__all__ = [
    "CURRENT_TOL",
    "DEPLETED",
    "GUESS_CURRENT_RTOL",
    "GUESS_PETSC",
    "GUESS_PETSC_DIRECT",
    "MIN_LOAD_STEP",
    "StationaryOptions",
    "StationarySolver",
]

log = logging.getLogger(__name__)

#: The secondary initial guess is only a starting point for the concentration model's
#: Newton: solved to 1e-2 of its initial residual (Newton) and 1e-6 (Krylov), with
#: galvanostatic currents to 1e-4, it needs one Newton step where 1e-10 took two (the
#: seed 003 benchmark at -0.2 V: the first step reaches 3e-4 at 73 k nodes, 1.4e-3 at
#: 260 k), and the concentration model's Newton still takes the same steps.
GUESS_PETSC: dict[str, object] = {"snes_rtol": 1.0e-2, "ksp_rtol": 1.0e-6}
GUESS_PETSC_DIRECT: dict[str, object] = {"snes_rtol": 1.0e-2}
GUESS_CURRENT_RTOL = 1.0e-4

#: A galvanostatic solve that stalls with the electrode's surface concentration below
#: this share of the bulk value is transport-limited (the message names the limit).
DEPLETED = 0.1

#: A result's galvanostatic current may differ from the applied one by this share at most
#: (or 10 x the control tolerance, whichever is larger).
CURRENT_TOL = 1.0e-6

#: Continuation gives up when its load step has been halved below this.
MIN_LOAD_STEP = 1.0e-6


def _applied(e: Electrode) -> float:
    """The applied mean current density of a galvanostatic electrode (A/m^2)."""
    assert e.current_density is not None  # given for a galvanostatic electrode
    return e.current_density


def _spaced(value: float) -> str:
    """A magnitude with thousands separated by spaces (96 485)."""
    return f"{abs(value):,.0f}".replace(",", " ")


@dataclass(slots=True)
class StationaryOptions:
    """Controls of the stationary solve.

    Args:
        preset: linear-solver preset (``auto``, ``direct``, ``iterative``).
        initial_guess: ``secondary`` or ``uniform``.
        max_continuation_steps: ramp steps before giving up.
        current_rtol: relative tolerance on galvanostatic currents.
        max_control_iterations: Broyden iterations for galvanostatic control.
        petsc_overrides: extra PETSc options.
        guess: the solve is an initial guess, never a result (PETSc's relative residual
            test, no admissibility check; see :class:`~femli.solve.newton.Newton`).
    """

    preset: str = "auto"
    initial_guess: str = "secondary"
    max_continuation_steps: int = 64
    current_rtol: float = 1.0e-8
    max_control_iterations: int = 40
    petsc_overrides: dict | None = None
    guess: bool = False

    def __post_init__(self) -> None:
        if self.initial_guess not in ("secondary", "uniform"):
            raise ValueError("initial_guess must be 'secondary' or 'uniform'")
        if self.max_continuation_steps < 1:
            raise ValueError("max_continuation_steps must be >= 1")


class StationarySolver:
    """Solves a :class:`CellModel` to steady state, with recovery."""

    def __init__(
        self,
        model: CellModel,
        options: StationaryOptions | None = None,
        newton: Newton | None = None,
    ) -> None:
        self.model = model
        self.options = options or StationaryOptions()
        # ``newton``: an inner solver over a subset of the unknowns (transient start)
        opts = self.options
        self.newton = newton or Newton(model, opts.preset, opts.petsc_overrides, opts.guess)
        self.currents = ElectrodeCurrents(model)
        self.potentiostatic = [e for e in model.electrodes if not e.galvanostatic]
        self.galvanostatic = [e for e in model.electrodes if e.galvanostatic]
        self.load = 0.0
        self.continuation_steps = 0

    # -- driving force ----------------------------------------------------------
    def apply_load(self, load: float) -> None:
        """Set potentiostatic electrodes to ``E_eq + load (E - E_eq)``."""
        for e in self.potentiostatic:
            eq, potential = e.equilibrium_potential, e.potential
            assert potential is not None  # given for a potentiostatic electrode
            self.model.set_potential(e, eq + load * (potential - eq))
        self.load = load

    def control_residual(self, load: float) -> np.ndarray:
        """Mean current density minus the (scaled) target of each galvanostatic electrode."""
        return np.array(
            [self.currents.applied_density(e) - load * _applied(e) for e in self.galvanostatic]
        )

    # -- inner solve --------------------------------------------------------------
    def solve_state(self) -> bool:
        """Newton solve at the present potentials (pseudo-transient for closed cells)."""
        if self.model.has_fixed_concentration:
            return self.newton.solve()
        return self._pseudo_transient()

    def _pseudo_transient(self) -> bool:
        model = self.model
        length = model.domain.measure(boundary=False) ** (1.0 / model.domain.dim)
        d_min = min(s.diffusivity for s in model.electrolyte.species)
        dt = 1.0e-3 * length**2 / d_min
        c_ref = model.electrolyte.reacting_species.concentration
        state = self.model.snapshot()
        for _ in range(60):
            old = [c.x.array.copy() for c in model.unknowns[: len(model.species_unknowns)]]
            model.rate_coefficient.value = 1.0 / dt
            for h, c in zip(model.history, old, strict=True):
                h.x.array[:] = -c / dt
            if not self.newton.solve():
                self._steady_terms()
                self.model.restore(state)
                return False
            change = max(
                np.abs(c.x.array - o).max(initial=0.0)
                for c, o in zip(model.unknowns, old, strict=False)
            )
            change = model.domain.comm.allreduce(change, op=MPI.MAX) / c_ref
            dt *= 4.0
            if change < 1.0e-10:
                break
        else:
            self.newton.failure = "the pseudo-transient march found no steady state in 60 steps"
        self._steady_terms()
        if not self.newton.failure and self.newton.check is not None:
            problem = self.newton.check()  # the steady balances, without the storage term
            self.newton.failure = (
                f"the steady state is not admissible: {problem}" if problem else ""
            )
        if self.newton.failure:
            self.model.restore(state)
            return False
        return True

    def _steady_terms(self) -> None:
        """No storage term: the model is stationary again."""
        # DOLFINx annotates Constant.value's setter as an array; it takes any array-like
        self.model.rate_coefficient.value = 0.0  # type: ignore[assignment]
        for h in self.model.history:
            h.x.array[:] = 0.0

    def solve_at(self, load: float) -> bool:
        """Solve with the driving force scaled by ``load`` (galvanostatic loop inside)."""
        self.apply_load(load)
        if not self.galvanostatic:
            return self.solve_state()
        return self._control(load)

    def _control(self, load: float) -> bool:
        """Broyden iteration on the galvanostatic electrode potentials."""
        es = self.galvanostatic
        e_vec = np.array([self.model.potentials[e.name].value.item() for e in es])
        if not self._set_and_solve(es, e_vec):
            return False
        r = self.control_residual(load)
        jac = self._fd_jacobian(es, e_vec, r, load)
        if jac is None:
            return False
        scale = max(abs(load * _applied(e)) for e in es) + 1.0e-30
        for _ in range(self.options.max_control_iterations):
            if np.max(np.abs(r)) <= self.options.current_rtol * scale:
                return True
            try:
                step = -np.linalg.solve(jac, r)
            except np.linalg.LinAlgError:  # the current stopped responding to the potential
                return False  # (e.g. beyond the limiting current): no solution this way
            if not np.isfinite(step).all():
                return False
            step = np.clip(step, -0.25, 0.25)
            for _ in range(8):
                if self._set_and_solve(es, e_vec + step):
                    break
                step *= 0.5
            else:
                return False
            r_new = self.control_residual(load)
            dr = r_new - r
            jac += np.outer(dr - jac @ step, step) / float(step @ step)
            e_vec, r = e_vec + step, r_new
        return bool(np.max(np.abs(r)) <= self.options.current_rtol * scale)

    def _fd_jacobian(self, es, e_vec, r, load):
        jac = np.zeros((len(es), len(es)))
        delta = 1.0e-3 / self.model.f
        for k in range(len(es)):
            shifted = e_vec.copy()
            shifted[k] -= delta
            if not self._set_and_solve(es, shifted):
                return None
            jac[:, k] = (self.control_residual(load) - r) / -delta
        if not self._set_and_solve(es, e_vec):  # back to the unshifted state
            return None
        return jac

    def _set_and_solve(self, es, e_vec) -> bool:
        for e, value in zip(es, e_vec, strict=True):
            self.model.set_potential(e, float(value))
        return self.solve_state()

    # -- state ----------------------------------------------------------------------
    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]:
        """The solver's state as plain data (checkpoints): ``meta`` (JSON-able) holds the
        electrode potentials (V) and the Newton statistics, ``arrays`` the unknowns'
        local arrays (``unknowns``)."""
        saved = self.model.snapshot()
        meta = {"potentials": saved.potentials, "newton": {"stats": self.newton.stats.to_state()}}
        return meta, {"unknowns": saved.unknowns}

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
        """Put back a :meth:`state` (on a model of the same mesh)."""
        self.model.restore(ModelState(arrays["unknowns"], meta["potentials"]))
        self.newton.stats = SolveStats.from_state(meta["newton"]["stats"])

    # -- public ---------------------------------------------------------------------
    def solve(self) -> None:
        """Solve to steady state; raises :class:`SolverError` after all recoveries fail."""
        if self.options.initial_guess == "secondary" and self.model.transport.has_concentrations:
            self._secondary_guess()
        if not self.solve_at(1.0):
            log.info("direct solve failed; continuation in the applied driving force")
            if not self._continuation():
                raise SolverError(self._failure_message())
        self._check_currents()

    def solve_warm(self) -> None:
        """Solve from the present state, a nearby solution (the previous shape's in a
        growth step): Newton at the full driving force, no initial guess, a Jacobian every
        :data:`~femli.solve.presets.WARM_JACOBIAN_EVERY` steps
        (:meth:`~femli.solve.newton.Newton.chord`). If that fails, :meth:`solve` from the
        state it started from (initial guess, continuation).

        Raises:
            SolverError: after :meth:`solve`'s recoveries fail, or the applied current is
                not reached.
        """
        kept = self.model.snapshot()
        with self.newton.chord(presets.WARM_JACOBIAN_EVERY):
            solved = self.solve_at(1.0)
        if solved:
            self._check_currents()
            return
        log.info("warm-started solve failed; solving from the initial guess")
        self.model.restore(kept)
        self.solve()

    def _check_currents(self) -> None:
        """Each galvanostatic electrode carries its applied current (a result condition,
        checked on the final state). Collective."""
        tol = max(10.0 * self.options.current_rtol, CURRENT_TOL)
        for e in self.galvanostatic:
            reached, applied = self.currents.applied_density(e), _applied(e)
            if abs(reached - applied) > tol * abs(applied):
                raise SolverError(
                    f"electrode {e.name!r} carries {reached:.6g} A/m2 instead of the applied "
                    f"{e.current_density:.6g} A/m2 (tolerance {tol:.1g}); the state is kept"
                )

    def _failure_message(self) -> str:
        """What was tried, how far it got and the likely cause. Collective."""
        text = (
            "stationary solve did not converge: tried Newton from the "
            f"{self.options.initial_guess} initial guess and continuation in the applied "
            f"{'current' if self.galvanostatic else 'potential'} "
            f"(reached {self.load:.3g} of the target in {self.continuation_steps} steps; "
            "the state there is kept)"
        )
        limited = self._limiting_electrode()
        if limited is not None:
            e, reached = limited
            return (
                f"the applied current {_spaced(e.current_density)} A/m2 on electrode "
                f"{e.name!r} exceeds the limiting current (about {_spaced(reached)} A/m2 for "
                f"this cell: the {self.model.electrolyte.reacting} concentration at the "
                f"electrode falls to zero there); {text}"
            )
        return f"{text}; {self.newton.failure or 'no admissible state'}"

    def _limiting_electrode(self):
        """(electrode, estimated limiting current density, A/m^2) of a galvanostatic
        electrode whose surface is nearly depleted at the state reached, else None.

        The estimate extrapolates the reached current to a depleted surface along the
        straight line of diffusion-limited transport, ``i / (1 - c_s / c_bulk)`` (exact for
        a binary salt in 1D). Collective.
        """
        el = self.model.electrolyte
        if not self.galvanostatic or not self.model.species_unknowns or self.load <= 0.0:
            return None
        bulk = el.reacting_species.concentration
        for e in self.galvanostatic:
            share = max(self.currents.surface_minimum(e), 0.0) / bulk
            if share < DEPLETED:
                return e, abs(self.currents.applied_density(e)) / (1.0 - share)
        return None

    def _continuation(self, reset: bool = True) -> bool:
        """Ramp the driving force from equilibrium (from the bulk state if ``reset``).

        On failure the model is left at the last converged load (:attr:`load`).
        """
        if reset:  # the bulk state at rest: galvanostatic electrodes at equilibrium too
            self.model.set_initial_state()
            for e in self.galvanostatic:
                self.model.set_potential(e, e.equilibrium_potential)
            self.apply_load(0.0)
        load, step, steps = 0.0, 0.125, 0
        kept = self.model.snapshot()
        while load < 1.0 and steps < self.options.max_continuation_steps and step > MIN_LOAD_STEP:
            target = min(1.0, load + step)
            steps += 1
            if self.solve_at(target):
                load, step = target, step * 1.5
                kept = self.model.snapshot()
            else:  # back to the last converged state (potentials included) and a shorter step
                step *= 0.5
                self.model.restore(kept)
                self.apply_load(load)
        self.continuation_steps = steps
        if load < 1.0:
            self.model.restore(kept)
            self.apply_load(load)
        return load >= 1.0

    def _secondary_guess(self) -> None:
        """Potential (and galvanostatic electrode potentials) from the Ohmic model, solved
        on the coarse mesh a split mesh was made from (:mod:`femli.coarse`) and prolonged,
        or on the mesh itself."""
        el = self.model.electrolyte
        ohmic = Electrolyte(
            el.species,
            model="secondary",
            reacting=el.reacting,
            temperature=el.temperature,
            conductivity=el.bulk_conductivity(),
            regions=el.regions,
        )
        fine = self.model.domain
        coarse = fine.coarse if fine.coarse is not None and fine.coarse.matches(fine) else None
        domain = fine if coarse is None else coarse.domain
        guess_model = CellModel(domain, ohmic, self.model.electrodes, self.model.bulk)
        preset = presets.resolve(self.options.preset, guess_model.num_dofs(), domain.dim)
        options = StationaryOptions(
            preset,
            initial_guess="uniform",
            current_rtol=GUESS_CURRENT_RTOL,
            petsc_overrides=GUESS_PETSC if preset == "iterative" else GUESS_PETSC_DIRECT,
            guess=True,
        )
        guess = StationarySolver(guess_model, options)
        try:
            guess.solve()
        except SolverError:
            log.info("secondary initial guess failed; starting from the uniform state")
            return
        pairs = [(guess_model.phi, self.model.phi)]
        if self.model.film is not None and guess_model.film is not None:
            pairs.append((guess_model.film, self.model.film))
        for source, target in pairs:
            if coarse is None:
                target.x.array[:] = source.x.array
            else:
                coarse.prolong(source, target)
        for e in self.model.electrodes:
            self.model.set_potential(e, guess_model.potentials[e.name].value.item())
