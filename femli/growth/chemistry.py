"""Electrochemistry of growth runs: quasi-stationary, or transient on the moving mesh (ALE).

Quasi-stationary (:class:`StationaryChemistry`): the steady state is solved on every
new shape; no concentration history.

Transient (:class:`TransientChemistry`): the concentrations are advanced in time with
the variable-step BDF of :class:`~femli.solve.transient.TransientSolver` while the mesh
moves. Arbitrary Lagrangian-Eulerian form, Lagrangian carry:

- the nodal values stay with the mesh nodes when the mesh moves (no interpolation);
  a nodal value ``c_i(t) = c(x_i(t), t)`` changes along the node path at the rate
  ``dc_i/dt = dc/dt|_x + w . grad c``, ``w`` the mesh velocity (m/s);
- the Eulerian balance ``eps dc/dt|_x + div N = 0`` is therefore solved as
  ``eps (dc/dt|_mesh - w . grad c) + div N = 0`` on the present mesh, the BDF
  formula applied to the nodal arrays (the history arrays are used as they are, now
  sitting on the moved nodes);
- ``w`` is the same BDF formula applied to the node positions,
  ``w = (a0 x_{n+1} + a1 x_n + a2 x_{n-1}) / h = (a0 d_{n+1} - a2 d_n) / h`` with
  ``d_k = x_k - x_{k-1}`` the nodal displacement of step ``k`` (``a0 + a1 + a2 = 0``),
  a P1 vector field like the mesh-motion displacement.

With this choice a field linear in space and steady in time is reproduced exactly for
any mesh motion: its nodal BDF derivative is ``beta . w_i`` and ``w . grad c`` is the
P1 field with those nodal values. A pure mesh motion thus leaves a steady profile
unchanged to solver tolerance, and dropping ``w . grad c`` does not (the carried values
would be read as a change in time). The form is non-conservative: the salt amount is
conserved to the discretisation error, not exactly. Only the species rows change; the
charge balance has no time derivative.

The growth step ``dt`` is the smallest of the displacement limit and the BDF step
proposed by the error control; a step rejected by the error estimate is redone from
the old shape with the smaller step. After a remesh the concentrations are interpolated
onto the new mesh (with the other unknowns) and the BDF history restarts there at first
order, with the last accepted step size.
"""

from __future__ import annotations

import math
from typing import Protocol

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from femli.physics.derived import ElectrodeCurrents
from femli.physics.model import CellModel
from femli.solve.bdf import TransientOptions
from femli.solve.newton import Newton, SolverError
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.solve.transient import TransientSolver

__all__ = [
    "Chemistry",
    "MeshVelocity",
    "StationaryChemistry",
    "TransientChemistry",
    "surface_concentration",
]


class Chemistry(Protocol):
    """The electrochemistry of a growth run, as the growth solver drives it
    (:class:`StationaryChemistry` or :class:`TransientChemistry`)."""

    newton: Newton
    currents: ElectrodeCurrents

    def start(self, warm: bool = False) -> None:
        """Solve on the present shape (raises SolverError); ``warm``: the present state
        is a nearby solution (carried over from the mesh before)."""
        ...

    def next_step(self) -> float:
        """The largest step the electrochemistry allows next (s)."""
        ...

    def advance(self, dt: float, displacement: np.ndarray) -> tuple[bool, float]:
        """The step ``t -> t + dt`` on the moved shape: (accepted, next step in s)."""
        ...

    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]:
        """Everything to go on from here, as plain data and local arrays."""
        ...

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]], t: float) -> None:
        """Put back a :meth:`state` (``t``: the growth time, s)."""
        ...


class MeshVelocity:
    """The mesh velocity ``w`` (m/s, P1 vector on ``space``) and the ALE term
    ``-eps w . grad c`` added to every species row of ``model`` (before any solver is
    built on it). Called by :class:`TransientSolver` before each step's solve."""

    def __init__(self, model: CellModel, space: dolfinx.fem.FunctionSpace) -> None:
        self.w = dolfinx.fem.Function(space, name="mesh_velocity")
        self.step = np.zeros_like(self.w.x.array)  # d_{n+1} (m), this step's displacement
        self.last = np.zeros_like(self.w.x.array)  # d_n (m), the last accepted step's
        regions = model.electrolyte.regions
        porosity = model.region_field({r.region: r.porosity for r in regions}, 1.0)
        dx = model.domain.dx()
        for k, species in enumerate(model.species_unknowns):
            c = model.unknowns[k]
            model.add_source(species.name, porosity * ufl.dot(self.w, ufl.grad(c)), dx)

    def __call__(self, h: float, coefficients: tuple[float, float, float]) -> None:
        a0, _, a2 = coefficients
        self.w.x.array[:] = (a0 * self.step - a2 * self.last) / h

    def accept(self) -> None:
        """The present step becomes the history (after an accepted step)."""
        self.last[:] = self.step
        self.step[:] = 0.0

    def reset(self) -> None:
        """No motion history (a fresh start or a new mesh)."""
        self.last[:] = 0.0
        self.step[:] = 0.0
        self.w.x.array[:] = 0.0

    def state(self) -> list[np.ndarray]:
        """The last accepted step's displacement (m): one local array per coordinate."""
        last = self.last.reshape(-1, self.w.function_space.dofmap.index_map_bs)
        return [last[:, j].copy() for j in range(last.shape[1])]

    def restore(self, columns: list[np.ndarray]) -> None:
        """Put back a :meth:`state`."""
        self.last[:] = np.stack(columns, axis=1).ravel()


class StationaryChemistry:
    """Quasi-stationary electrochemistry: a steady solve on each shape."""

    def __init__(self, model: CellModel, options: StationaryOptions) -> None:
        self.solver = StationarySolver(model, options)
        self.newton, self.currents = self.solver.newton, self.solver.currents

    def start(self, warm: bool = False) -> None:
        """Solve on the present shape (raises SolverError); ``warm``: from the present
        state (carried over from the mesh before), the initial guess only if that fails."""
        if warm:
            self.solver.solve_warm()
        else:
            self.solver.solve()

    def next_step(self) -> float:
        """No limit from the electrochemistry (s)."""
        return math.inf

    def advance(self, dt: float, displacement: np.ndarray) -> tuple[bool, float]:
        """Solve on the moved shape from the state on the shape before (a warm start:
        the secondary guess only if that fails): (True, inf) or SolverError."""
        self.solver.solve_warm()
        return True, math.inf

    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]:
        """The unknowns, electrode potentials and solver statistics as plain data
        (:meth:`~femli.solve.stationary.StationarySolver.state`)."""
        return self.solver.state()

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]], t: float) -> None:
        """Put back a :meth:`state` (``t``: the growth time, s; nothing depends on it)."""
        self.solver.restore(meta, arrays)


class TransientChemistry:
    """Transient electrochemistry on the moving mesh (ALE, see the module docstring).

    Args:
        model: the cell model (gets the ALE term; build no other solver on it before).
        space: the P1 vector space of the mesh displacement.
        options: BDF step control.
        t: present time (s).
        first_step: the first BDF step (s); default ``options.dt_initial``.
    """

    def __init__(
        self,
        model: CellModel,
        space: dolfinx.fem.FunctionSpace,
        options: TransientOptions,
        t: float = 0.0,
        first_step: float | None = None,
    ) -> None:
        if not model.species_unknowns:
            raise ValueError(
                f"electrochemistry 'transient' needs a concentration model (tertiary or "
                f"supporting); the {model.model} model has no concentration to carry"
            )
        self.velocity = MeshVelocity(model, space)
        self.solver = TransientSolver(model, options)
        self.solver.t = t
        self.solver.before_solve = self.velocity
        if first_step is not None:
            self.solver.next_step = max(first_step, options.steps.dt_min)
        self.newton, self.currents = self.solver.newton, self.solver.currents

    def start(self, warm: bool = False) -> None:
        """Potential with the concentrations frozen; the history restarts here (always from
        the present state: ``warm`` changes nothing)."""
        self.solver.start()
        self.velocity.reset()

    def next_step(self) -> float:
        """The step the error control proposes (s)."""
        return self.solver.next_step

    def advance(self, dt: float, displacement: np.ndarray) -> tuple[bool, float]:
        """The BDF step ``t -> t + dt`` on the moved mesh (``displacement``: the mesh
        motion of this step, m, layout of the P1 vector space).

        Returns ``(True, next step)`` when accepted, ``(False, smaller step)`` when the
        error control rejects it (the caller moves the mesh back).

        Raises:
            SolverError: Newton failed (the last accepted state is kept).
        """
        self.velocity.step[:] = displacement
        status, step = self.solver.try_step(dt)
        if status == "failed":
            raise SolverError(
                f"transient step of {dt:.3g} s from t = {self.solver.t:.6g} s did not "
                f"converge (last SNES reason {self.newton.stats.last_reason})"
            )
        if status == "accepted":
            self.velocity.accept()
        return status == "accepted", step

    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]:
        """The unknowns, electrode potentials and solver statistics, with the BDF history
        and step-size control (``meta["transient"]``, arrays ``past_k``) and the last mesh
        step (``mesh_step``, m) as plain data."""
        meta, arrays = self.solver.control.state()
        history, past = self.solver.history_state()
        return meta | {"transient": history}, arrays | past | {"mesh_step": self.velocity.state()}

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]], t: float) -> None:
        """Put back a :meth:`state` at the growth time ``t`` (s)."""
        self.solver.control.restore(meta, arrays)
        self.solver.t = t
        self.solver.restore_history(meta["transient"], arrays)
        self.velocity.restore(arrays["mesh_step"])


def surface_concentration(model: CellModel, boundaries: list[str]) -> tuple[float, float]:
    """Reacting-species concentration (mol/m^3) on the named boundaries: the smallest,
    and the one at the highest node (largest last coordinate: a deposit tip). The bulk
    value when the reacting species is not solved for. Collective."""
    names = [s.name for s in model.species_unknowns]
    reacting = model.electrolyte.reacting
    if reacting not in names:
        value = float(model.electrolyte.reacting_species.concentration)
        return value, value
    c = model.unknowns[names.index(reacting)].x.array
    domain = model.domain
    dofs = dolfinx.fem.locate_dofs_topological(
        model.space, domain.dim - 1, domain.facets(*boundaries)
    )
    dofs = dofs[dofs < model.space.dofmap.index_map.size_local]
    height = model.space.tabulate_dof_coordinates()[dofs, domain.mesh.geometry.dim - 1]
    local_min = float(c[dofs].min(initial=np.inf))
    top = int(np.argmax(height)) if dofs.size else -1
    local_top = (float(height[top]), float(c[dofs[top]])) if dofs.size else (-np.inf, np.nan)
    c_min = domain.comm.allreduce(local_min, op=MPI.MIN)
    tops = domain.comm.allgather(local_top)
    return c_min, max(tops, key=lambda pair: pair[0])[1]
