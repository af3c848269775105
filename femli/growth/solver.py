"""Deposition growth: electrodes move along their normal as metal deposits or strips.

Each step solves the electrochemistry on the present shape (stationary, or one
transient interval with the concentration history carried over), turns the local
current density of the depositing reactions into a normal velocity
``v_n = -i_dep M / (z F rho)`` (deposition, ``i_dep < 0``, grows into the electrolyte;
side reactions such as SEI formation move nothing), moves the depositing boundaries and
extends the displacement into the domain (:mod:`femli.growth.motion`). The step is
limited by the largest boundary displacement allowed per step; a step that would
invert cells is cut. Quality below a threshold triggers a remesh (2D and 3D) via the
``remesh`` hook (3D with ``merge_gap``: a rebuild from the level set,
:mod:`femli.growth.rebuild`; a rebuilt mesh that the next step cannot move even cut is
rebuilt on finer level-set grids in turn). SI units; lengths in m.

The boundary nodes sweep the Faraday volume of the current exactly (trapezoidal in
time, :mod:`femli.growth.conserve`); ``faraday`` accumulates it. What the last step
owes (the change of current it did not foresee) is carried over a remesh; a level-set
rebuild encloses the Faraday volume itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from femli.geometry.core import RemeshSizing
from femli.growth.chemistry import (
    Chemistry,
    StationaryChemistry,
    TransientChemistry,
    surface_concentration,
)
from femli.growth.conserve import VolumeKeeper
from femli.growth.merge import (
    merge_deposits,
    merge_deposits_3d,
    rebuild_growth,
    seeds_2d,
    touching_error,
)
from femli.growth.morphology import morphology
from femli.growth.motion import MeshMotionError, MeshMover
from femli.growth.newmesh import NEW_MESH_TIMES, remesh, replace_domain
from femli.growth.options import GrowthOptions, Metal
from femli.growth.rebuild import RESCUE_GRIDS, require_box, seeds_3d
from femli.growth.remesh import edge_lengths, kept_sizes
from femli.growth.state import restore, state
from femli.physics.model import CellModel
from femli.solve.newton import SolverError

__all__ = ["GrowthOptions", "GrowthSolver", "Metal"]

log = logging.getLogger(__name__)

#: A remesh whose mesh has less than this share of ``min_quality`` is followed by the next
#: one once the quality has fallen to this share of that mesh's.
FRESH_SHARE = 0.5


class GrowthSolver:
    """Growth: electrochemistry on each new shape, quasi-stationary or transient."""

    def __init__(self, model: CellModel, options: GrowthOptions) -> None:
        self.options = options
        self.depositing = [b for e in model.electrodes for b in e.boundaries if e.depositing(b)]
        if not self.depositing:
            raise ValueError(
                "no depositing boundary: every electrode part is inert or carries only "
                "reactions that deposit no metal"
            )
        if not model.transport.has_kinetics:
            raise ValueError("growth needs electrode kinetics: use the secondary model or above")
        self.t, self.charge, self.remeshes = 0.0, 0.0, 0
        #: wall seconds (this rank) of the new meshes: remeshing (Gmsh, distribution),
        #: carrying the fields over, solving on them (remeshes, merges, rebuilds)
        self.seconds = dict.fromkeys(NEW_MESH_TIMES, 0.0)
        self.fresh_quality: float | None = None  # min cell quality of the last new mesh
        self.records: list[dict] = []
        self._step: float | None = None  # the step being solved (s), see solve_state
        self._verdict: tuple[bool, float] = (True, np.inf)
        self.attach(model)
        self.volume0 = model.domain.measure(boundary=False)
        self.area0 = model.domain.measure(*self.depositing)
        self.sizes: tuple[float, ...] | None = self.remesh_sizes()
        #: the sizes of the boundaries that keep their own at a remesh, the grading
        self.sizing = RemeshSizing(
            kept_sizes(model.domain, self.depositing, self.sizes[1]), options.refinement
        )
        self.merges: list[dict] = []  # merge events (t, deposits, trapped volume)
        self.trapped = 0.0  # electrolyte enclosed by merged deposits, m^3 (m^2 in 2D)
        self.detached = 0.0  # metal cut loose from the electrode and dropped, m^3
        self.faraday = 0.0  # M/(zF rho) x the deposition current, trapezoidal in time, m^3
        self.seeds = None
        if options.merge_gap is not None:
            if model.domain.dim == 3:
                require_box(model.domain, self.depositing)
            seeds = seeds_2d if model.domain.dim == 2 else seeds_3d
            self.seeds = seeds(model.domain, self.depositing)

    def attach(self, model: CellModel) -> None:
        """(Re)build the mesh mover, the solver and the compiled forms for ``model``."""
        self.model = model
        fixed = [b for bulk in model.bulk for b in bulk.boundaries]
        self.mover = MeshMover(model.domain, self.depositing, fixed)
        self.chemistry: Chemistry
        if self.options.transient is None:
            self.chemistry = StationaryChemistry(model, self.options.stationary)
        else:  # on a new mesh: the history restarts with the last accepted step
            last = self.records[-1]["dt"] if len(self.records) > 1 else None
            self.chemistry = TransientChemistry(
                model, self.mover.space, self.options.transient, self.t, last
            )
        self.newton, self.currents = self.chemistry.newton, self.chemistry.currents
        self._forms = self._boundary_forms()
        held = [
            e.galvanostatic and e.reference_area is not None
            for e in model.electrodes
            if set(e.boundaries) & set(self.depositing)
        ]
        self.keeper = VolumeKeeper(self.mover, tuple(self.depositing), all(held))
        self.quality = self.mover.quality()

    def remesh_sizes(self) -> tuple[float, float]:
        """Element sizes (um) for remeshing: the initial depositing edge median, the
        largest boundary edge far away."""
        comm = self.model.domain.comm
        moving = comm.allgather(edge_lengths(self.model.domain, *self.depositing))
        every = comm.allgather(edge_lengths(self.model.domain, *self.model.domain.facet_names))
        return float(np.median(np.concatenate(moving))), float(np.concatenate(every).max())

    # -- nodal quantities ------------------------------------------------------------
    def _boundary_forms(self) -> dict:
        space, vspace = self.model.space, self.mover.space
        ds = self.model.domain.ds(*self.depositing)
        n = ufl.FacetNormal(self.model.domain.mesh)
        test = ufl.TestFunction(space)
        flux: ufl.Form | None = None
        for e in self.model.electrodes:
            for b in e.boundaries:
                if b in self.depositing:
                    metal = self.options.metals.get(b, Metal())
                    rate = -metal.volume_per_charge * self.model.deposition_current(e, b)
                    term = rate * test * self.model.domain.ds(b)
                    flux = term if flux is None else flux + term
        assert flux is not None  # a growth solver has depositing boundaries
        return {
            "weights": dolfinx.fem.form(ufl.TestFunction(space) * ds),
            "normals": dolfinx.fem.form(ufl.inner(n, ufl.TestFunction(vspace)) * ds),
            "flux": dolfinx.fem.form(flux),
            "surface": dolfinx.fem.form(
                ufl.TestFunction(space)
                * self.model.domain.ds(*[b for e in self.model.electrodes for b in e.boundaries])
            ),
        }

    def assemble(self, name: str) -> np.ndarray:
        vec = dolfinx.fem.assemble_vector(self._forms[name])
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        vec.scatter_forward()
        return vec.array.copy()

    def surface_weights(self) -> np.ndarray:
        """Lumped boundary measure of every local node on the electrodes' surfaces."""
        return self.assemble("surface")

    def nodal_velocity(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(v_i (m/s, growth positive), w_i, N_i) at every local node (zero off-boundary).

        ``v_i`` is the lumped (consistent) boundary flux divided by ``w_i``.
        """
        w = self.assemble("weights")
        flux = self.assemble("flux")
        normals = self.assemble("normals").reshape(-1, self.mover.gdim)
        v = np.divide(flux, w, out=np.zeros_like(w), where=w > 0)
        return v, w, normals

    def max_speed(self) -> float:
        """Largest |v_n| on the depositing boundary (m/s). Collective."""
        v, _, _ = self.nodal_velocity()
        return self.model.domain.comm.allreduce(float(np.abs(v).max(initial=0.0)), op=MPI.MAX)

    # -- stepping ----------------------------------------------------------------------
    def total_current(self) -> float:
        """Current into the depositing boundaries (A, anodic positive). Collective."""
        return sum(self.currents.total(e) for e in self.model.electrodes)

    def rate(self, rates: np.ndarray | None = None) -> float:
        """Deposition rate M/(zF rho) x current over the depositing boundaries (m^3/s,
        growth positive), of nodal ``rates`` (default: the present). Collective."""
        rates = self.assemble("flux") if rates is None else rates
        owned = self.model.space.dofmap.index_map.size_local
        return self.model.domain.comm.allreduce(float(rates[:owned].sum()), op=MPI.SUM)

    def step(self, dt: float) -> float:
        """Move the boundary for ``dt`` with the present current; returns the dt used.

        The nodes sweep the Faraday volume of their current exactly
        (:class:`~femli.growth.conserve.VolumeKeeper`)."""
        current, rates = self.total_current(), self.assemble("flux")
        for _ in range(self.options.max_cuts + 1):
            _, expected = self.keeper.displacement(rates, dt)
            try:
                quality = self.mover.move()
            except MeshMotionError as err:
                log.info("%s; halving dt %.3g s", err, dt)
                dt *= 0.5
                continue
            self.t += dt
            self._start_current = current  # the charge is added once the end state is known
            self._start_rates, self._expected = rates, expected
            self.currents.refresh()
            self.quality = quality
            return dt
        raise touching_error(self, "the mesh cannot follow the growth")

    def solve_state(self, warm: bool = False) -> None:
        """Electrochemistry on the present shape (raises SolverError on failure).

        Within a step of :meth:`_advance` (``_step`` set, s): the step's solve, steady or
        the transient BDF step, its verdict (accepted, next step) in ``_verdict``.
        Otherwise (start, new mesh): steady, or the potential with the concentrations kept;
        ``warm``: from the state carried over to a new mesh.
        """
        if self._step is None:
            self.chemistry.start(warm)
        else:
            displacement = self.mover.displacement.x.array
            self._verdict = self.chemistry.advance(self._step, displacement)

    def run(self, callback: Callable[[GrowthSolver, dict], None] | None = None) -> list[dict]:
        """Grow until ``t_end``; returns per-step records. Collective.

        Continues from the last record when the solver holds records already (a run
        restored from a checkpoint), exactly as the uninterrupted run would have.

        Raises:
            SolverError: a step failed after every cut (the state at :attr:`t` is kept).
            MeshMotionError: the mesh cannot follow the growth (or needs a 3D remesh).
        """
        if not self.records:
            self.solve_state()
            self._record(0.0, callback)
        else:  # what the uninterrupted run did after the checkpointed step
            self._remesh_hook()
        while self.t < self.options.t_end * (1 - 1e-12):
            speed = self.max_speed()
            dt = min(
                self.options.dt_max,
                self._next_stop() - self.t,
                self.options.max_displacement / max(speed, 1e-300),
                self.chemistry.next_step(),
            )
            used = self._advance_or_rebuild(dt)
            self._record(used, callback)
            self._remesh_hook()
        return self.records

    @property
    def rebuilds(self) -> bool:
        """Whether new meshes come from the level set (3D with merging, not a remesh)."""
        return self.model.domain.dim == 3 and self.options.merge_gap is not None

    def _advance_or_rebuild(self, dt: float) -> float:
        """:meth:`_advance`; in 3D with merging, a mesh the step cannot move even cut
        (a sliver at a deposit's foot, all its corners on the moving surface) is rebuilt
        from the level set on each of the finer grids :data:`RESCUE_GRIDS` in turn and the
        step tried again on it; the last failure stops the run."""
        for grid in RESCUE_GRIDS if self.rebuilds else ():
            try:
                return self._advance(dt)
            except MeshMotionError as err:
                log.info(
                    "t = %.4g s: %s; rebuilding the mesh on a level-set grid of %g x the "
                    "deposit size",
                    self.t,
                    err,
                    grid,
                )
                rebuild_growth(self, [], (grid,))
        return self._advance(dt)

    def _advance(self, dt: float) -> float:
        """Move the boundary and solve on the new shape; a failed solve puts the shape and
        the state back and halves the step (``max_solve_cuts`` times), a transient step
        rejected by the error control is redone with the smaller step. Returns the dt used.
        """
        first, error, failures = dt, None, 0
        while failures <= self.options.max_solve_cuts:
            saved = self._keep()
            used = self._step = self.step(dt)
            try:
                self.solve_state()
                accepted, dt = self._verdict
            except SolverError as err:
                error, failures, accepted, dt = err, failures + 1, False, 0.5 * used
                log.info("t = %.4g s: solve failed on the moved shape; dt %.3g s", self.t, used)
            finally:
                self._step = None
            if accepted:  # trapezoidal charge: the current at both ends of the step
                self.charge += 0.5 * (self._start_current + self.total_current()) * used
                self.faraday += 0.5 * (self.rate(self._start_rates) + self.rate()) * used
                self.keeper.accept(self._expected, used)
                return used
            self._put_back(saved)
        raise SolverError(
            f"growth step from t = {self.t:.4g} s did not converge: the electrochemistry on "
            f"the moved shape failed for dt = {first:.3g} s and {self.options.max_solve_cuts} "
            f"halvings down to {2 * dt:.3g} s (each: {error}); the state at "
            f"t = {self.t:.4g} s is kept"
        )

    def _keep(self) -> tuple:
        """What a failed step must put back: coordinates, time, charge, unknowns, potentials."""
        x = self.model.domain.mesh.geometry.x.copy()
        return x, self.t, self.charge, self.quality, self.model.snapshot()

    def _put_back(self, saved: tuple) -> None:
        x, self.t, self.charge, self.quality, state = saved
        self.model.domain.mesh.geometry.x[:] = x
        self.model.restore(state)
        self.currents.refresh()

    def _next_stop(self) -> float:
        """The next snapshot time after ``t``, or ``t_end``."""
        later = [s for s in self.options.snapshots if s > self.t * (1 + 1e-12) + 1e-300]
        return min([*later, self.options.t_end])

    def _remesh_hook(self) -> None:
        """After a step: fuse touching deposits, else remesh below ``min_quality`` (or,
        when the last new mesh had less than ``FRESH_SHARE`` of it, once the quality has
        fallen to that share of that mesh's: a shape that meshes so poorly meshes alike
        a step later; seed 003 SCP@Li 3D, rebuilt at 0.02-0.09, was rebuilt every step)."""
        limit = self.options.min_quality
        fresh = self.fresh_quality
        if fresh is not None and fresh < FRESH_SHARE * limit:
            limit = FRESH_SHARE * fresh
        if not self.merge() and self.quality < limit:
            self.remesh()

    def merge(self) -> bool:
        """Fuse deposits closer than ``merge_gap`` and remesh; False if none. Collective.

        Raises:
            MeshMotionError: the fused shape could not be meshed (where, and what to try).
        """
        if self.options.merge_gap is None:
            return False
        return merge_deposits(self) if self.model.domain.dim == 2 else merge_deposits_3d(self)

    def remesh(self) -> None:
        """Mesh the present shape afresh and carry the fields over
        (:func:`femli.growth.newmesh.remesh`). Collective.

        Raises:
            MeshMotionError: the shape could not be meshed, e.g. deposits touch (2D: how
                far apart, and the ``merge_gap`` that lets them merge).
        """
        remesh(self)

    def replace_domain(self, domain, settled: bool = False, lost: float = 0.0) -> None:
        """Carry the state over to ``domain``, a new mesh of the shape, and solve there
        (:func:`femli.growth.newmesh.replace_domain`). Collective."""
        replace_domain(self, domain, settled, lost)

    def _record(self, dt: float, callback) -> dict:
        c_min, c_tip = surface_concentration(self.model, self.depositing)
        record = {
            "t": self.t,
            "dt": dt,
            **self.morphology(),
            "charge": self.charge,
            "current": self.total_current(),
            "min_quality": self.mover.quality(),
            "remeshes": self.remeshes,
            "merges": len(self.merges),
            "trapped_volume": self.trapped,
            "faraday_volume": self.faraday,
            "detached_volume": self.detached,
            "c_min": c_min,
            "c_tip": c_tip,
            "snapshot": dt == 0.0
            or any(abs(self.t - t) <= 1e-9 * max(t, 1.0) for t in self.options.snapshots),
        }
        self.records.append(record)
        if callback is not None:
            callback(self, record)
        return record

    def morphology(self) -> dict:
        """Deposited volume, heights, roughness, areas, hotspot index
        (:func:`femli.growth.morphology.morphology`). Collective."""
        return morphology(self)

    # -- state (checkpoints) -----------------------------------------------------------
    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]:
        """The run's state as plain data, a restart point (:func:`femli.growth.state.state`)."""
        return state(self)

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
        """Put back a :meth:`state` (:func:`femli.growth.state.restore`)."""
        restore(self, meta, arrays)
