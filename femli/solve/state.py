"""Solver state as plain data, for checkpoints: everything a run needs to go on as if it
had never stopped.

Each ``*_state`` function returns ``(meta, arrays)``: ``meta`` is JSON-able (times,
records, electrode potentials, step-size control, Broyden Jacobian, solver statistics,
merge events) and ``arrays`` maps a name to a list of local arrays in the layout of the model's P1
unknowns (``femli.checkpoint`` turns them into global, rank-independent data). The
``restore_*`` functions put both back into a solver built afresh on the saved mesh.
The functions read the solvers' private step history on purpose: it is the state.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from femli.solve.newton import Newton
from femli.solve.stats import SolveStats


def newton_state(newton: Newton) -> dict:
    """Statistics of a :class:`Newton` (its convergence test keeps nothing between solves)."""
    stats = {f.name: getattr(newton.stats, f.name) for f in dataclasses.fields(SolveStats)}
    return {"stats": stats}


def restore_newton(newton: Newton, meta: dict) -> None:
    """Put back what :func:`newton_state` returned (fields unknown to this version skipped;
    the ``reference_norm`` of older checkpoints is no longer used)."""
    names = {f.name for f in dataclasses.fields(SolveStats)}
    newton.stats = SolveStats(**{k: v for k, v in meta["stats"].items() if k in names})


def potentials(model) -> dict[str, float]:
    """Electrode potentials (V) by electrode name."""
    return {k: c.value.item() for k, c in model.potentials.items()}


def _set_potentials(model, values: dict[str, float]) -> None:
    for e in model.electrodes:
        model.set_potential(e, float(values[e.name]))


def bdf_history(march) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """The BDF history and step-size control of a
    :class:`~femli.solve.transient.TransientSolver`: past times (s), next step (s), the
    Broyden Jacobian of the galvanostatic control; ``past_k`` arrays."""
    jacobian = march.control.jacobian
    meta = {
        "past_times": [t for t, _ in march._past],
        "next_step": march.next_step,
        "jacobian": None if jacobian is None else np.asarray(jacobian).tolist(),
    }
    return meta, {f"past_{k}": values for k, (_, values) in enumerate(march._past)}


def restore_bdf_history(march, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
    """Put back what :func:`bdf_history` returned (after the unknowns and potentials)."""
    march._past = [(t, arrays[f"past_{k}"]) for k, t in enumerate(meta["past_times"])]
    march.next_step = float(meta["next_step"])
    march._accepted = march._snapshot()
    if meta["jacobian"] is not None:
        march.control.jacobian = np.array(meta["jacobian"], dtype=float)


def transient_state(solver) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """State of a :class:`~femli.solve.transient.TransientSolver` between steps."""
    history, past = bdf_history(solver)
    meta = {
        "t": solver.t,
        "records": solver.records,
        "depletion_time": solver.depletion_time,
        "stop_reason": solver.stop_reason,
        "potentials": potentials(solver.model),
        "newton": newton_state(solver.newton),
        **history,
    }
    return meta, {"unknowns": solver.newton.snapshot(), **past}


def restore_transient(solver, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
    """Put a :func:`transient_state` into a new solver on the saved mesh."""
    solver.newton.restore(arrays["unknowns"])
    _set_potentials(solver.model, meta["potentials"])
    solver.t = float(meta["t"])
    solver.records = list(meta["records"])
    solver.depletion_time = meta["depletion_time"]
    solver.stop_reason = meta["stop_reason"]
    restore_bdf_history(solver, meta, arrays)
    restore_newton(solver.newton, meta["newton"])


def growth_state(solver) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """State of a :class:`~femli.growth.solver.GrowthSolver` after a recorded step."""
    meta = {
        "t": solver.t,
        "charge": solver.charge,
        "records": solver.records,
        "remeshes": solver.remeshes,
        "volume0": solver.volume0,
        "area0": solver.area0,
        "sizes": None if solver.sizes is None else list(solver.sizes),
        "merges": solver.merges,
        "trapped": solver.trapped,
        "seeds": None if solver.seeds is None else np.asarray(solver.seeds).tolist(),
        "potentials": potentials(solver.model),
        "newton": newton_state(solver.newton),
    }
    arrays = {"unknowns": solver.newton.snapshot()}
    velocity = getattr(solver.chemistry, "velocity", None)
    if velocity is not None:  # transient electrochemistry: BDF and mesh-motion history
        meta["transient"], past = bdf_history(solver.chemistry.solver)
        arrays |= past
        last = velocity.last.reshape(-1, solver.mover.gdim)
        arrays["mesh_step"] = [last[:, j].copy() for j in range(last.shape[1])]
    return meta, arrays


def restore_growth(solver, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
    """Put a :func:`growth_state` into a new solver on the saved (moved) mesh."""
    solver.newton.restore(arrays["unknowns"])
    _set_potentials(solver.model, meta["potentials"])
    solver.t, solver.charge = float(meta["t"]), float(meta["charge"])
    solver.records = list(meta["records"])
    solver.remeshes = int(meta["remeshes"])
    solver.volume0, solver.area0 = float(meta["volume0"]), float(meta["area0"])
    solver.sizes = None if meta["sizes"] is None else tuple(meta["sizes"])
    _restore_merges(solver, meta)
    solver.currents.refresh()
    restore_newton(solver.newton, meta["newton"])
    if "transient" in meta:
        _restore_growth_history(solver, meta["transient"], arrays)


def _restore_merges(solver, meta: dict) -> None:
    """Merge events, trapped electrolyte and the deposit numbering (the initial deposits'
    centres: the restored mesh may have fewer pieces). Checkpoints without them: none."""
    solver.merges = [dict(event) for event in meta.get("merges", [])]
    solver.trapped = float(meta.get("trapped", 0.0))
    if meta.get("seeds") is not None:
        solver.seeds = np.array(meta["seeds"], dtype=float).reshape(-1, 2)


def _restore_growth_history(solver, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
    """The BDF history and the last mesh step of transient electrochemistry."""
    solver.chemistry.solver.t = solver.t
    restore_bdf_history(solver.chemistry.solver, meta, arrays)
    solver.chemistry.velocity.last[:] = np.stack(arrays["mesh_step"], axis=1).ravel()
