"""Run kinds: what a case runs (a steady state, a ``[time]`` march, ``[growth]``), behind
one protocol, with progress, series files, checkpoints and restarts. Used by
:func:`femli.pipeline.run_case`.

A kind (:class:`RunKind`) builds its solver from a validated case and its model
(:mod:`femli.case.build`'s option builders), runs it, names the files it writes, saves
the last converged state when the solve fails, and names its checkpoints; the solvers
give and take their own state (:mod:`femli.checkpoint`). :func:`kind_of` picks a case's
kind from :data:`KINDS`, the newest registered first (the stationary kind takes every
case). Adding a kind (plate/strip cycling, say) is one new class decorated with
:func:`register`, usually a subclass of :class:`Kind`: the pipeline does not change.

Per step, on every rank, the stepping solvers call one callback; here it chains the
growth recorder (snapshots, moving fields), the progress bar, the :class:`Checkpointer`
and an optional user callback, in that order.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from femli.case import schema as cfg
from femli.case.build import growth_options, stationary_options, transient_options
from femli.checkpoint import Checkpoint, physics_digest, write_checkpoint
from femli.growth.motion import MeshMotionError
from femli.growth.recorder import GrowthRecorder
from femli.growth.solver import GrowthSolver
from femli.interrupt import check as check_interrupt
from femli.outputs.disk import NoSpaceError
from femli.outputs.fields import write_fields
from femli.outputs.files import atomic_write_bytes
from femli.outputs.metrics_format import growth_metrics, merge_event_metrics
from femli.outputs.progress import TimeProgress
from femli.outputs.series import FieldSeries, series_names
from femli.parallel import on_root
from femli.physics.derived import ElectrodeCurrents
from femli.physics.model import CellModel
from femli.solve.newton import Newton, SolverError
from femli.solve.stationary import StationarySolver
from femli.solve.transient import TransientSolver

__all__ = [
    "KINDS",
    "SERIES",
    "Checkpointer",
    "Growth",
    "Kind",
    "RunKind",
    "Solver",
    "Stationary",
    "StepCallback",
    "Stepping",
    "Transient",
    "growth_summary",
    "kind_of",
    "register",
    "time_series_csv",
]

log = logging.getLogger(__name__)

#: ``callback(solver, record)`` after every step of a stepping run, on every rank.
StepCallback = Callable[..., bool | None]

#: The time series of a transient run, in its output folder.
SERIES = "time_series.csv"


class Solver(Protocol):
    """What the pipeline asks of a kind's solver (and :mod:`femli.checkpoint` of its state)."""

    model: CellModel
    newton: Newton
    currents: ElectrodeCurrents

    def state(self) -> tuple[dict, dict[str, list[np.ndarray]]]: ...

    def restore(self, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None: ...


class RunKind[S: Solver](Protocol):
    """A kind of run, with solvers of type ``S``. ``name`` labels its checkpoints
    (``state.json`` ``kind``) and its failures (``status.json`` ``run``)."""

    name: str

    def applies(self, config: cfg.CaseConfig) -> bool:
        """Whether ``config`` is a case of this kind."""
        ...

    def output_names(self, config: cfg.CaseConfig) -> list[str]:
        """Glob patterns of the files a run writes besides every run's (fields, metrics)."""
        ...

    def checkpoints(self, config: cfg.CaseConfig) -> bool:
        """Whether a run of ``config`` writes checkpoints (and may restart from them)."""
        ...

    def make_solver(self, config: cfg.CaseConfig, model: CellModel) -> S:
        """The solver of ``config`` on ``model`` (a fresh one: a checkpoint is put in later)."""
        ...

    def run(
        self,
        config: cfg.CaseConfig,
        solver: S,
        output: Path,
        summary: dict,
        callback: StepCallback | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> dict:
        """Solve (from ``checkpoint``'s state if given); returns the kind's metrics entries.

        Raises SolverError or MeshMotionError when it fails. Collective."""
        ...

    def save_last_state(self, config: cfg.CaseConfig, solver: S, output: Path) -> dict:
        """After a failed :meth:`run`: the last converged state's fields (and series so far);
        returns how far the run got (``status.json`` details). Collective."""
        ...


#: The kinds, tried in order by :func:`kind_of`.
KINDS: list[RunKind[Any]] = []


def register[K: type](kind: K) -> K:
    """Class decorator: put an instance of ``kind`` first in :data:`KINDS` (a kind
    registered later may claim cases an earlier one would take)."""
    KINDS.insert(0, kind())
    return kind


def kind_of(config: cfg.CaseConfig) -> RunKind[Any]:
    """The kind of run a case is."""
    for kind in KINDS:
        if kind.applies(config):
            return kind
    raise LookupError(f"no run kind for case {config.name!r}")  # the stationary kind takes all


class Kind:
    """The common part of the built-in kinds: no files or checkpoints of their own, and
    what a failed run saves (:meth:`reached`, :meth:`save_series` to fill in)."""

    name: str

    def output_names(self, config: cfg.CaseConfig) -> list[str]:
        return []

    def checkpoints(self, config: cfg.CaseConfig) -> bool:
        return False

    def reached(self, solver) -> dict:
        """How far a failed run got (``status.json`` details)."""
        return {}

    def save_series(self, solver, output: Path) -> None:
        """The series of a failed run so far (rank 0 writes)."""

    def save_last_state(self, config: cfg.CaseConfig, solver: Solver, output: Path) -> dict:
        details: dict = {"run": self.name, **self.reached(solver)}
        try:
            self.save_series(solver, output)
            write_fields(solver.model, output, solver.currents)
        except NoSpaceError as err:  # the solve's failure stays the error to report
            details["last_state"] = None
            log.warning("last converged state not saved: %s", err)
            return details
        details["last_state"] = "fields/"
        log.warning("last converged state saved in %s", output / "fields")
        return details


@register
class Stationary(Kind):
    """A steady state: a case without ``[time]`` or ``[growth]`` (every case, as the last
    kind tried)."""

    name = "stationary"

    def applies(self, config: cfg.CaseConfig) -> bool:
        return True

    def make_solver(self, config: cfg.CaseConfig, model: CellModel) -> StationarySolver:
        return StationarySolver(model, stationary_options(config))

    def run(
        self,
        config: cfg.CaseConfig,
        solver: StationarySolver,
        output: Path,
        summary: dict,
        callback: StepCallback | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> dict:
        solver.solve()
        return {}

    def reached(self, solver: StationarySolver) -> dict:
        """The share of the driving force reached (continuation)."""
        return {"load_reached": solver.load}


class Stepping(Kind):
    """The common part of the kinds that march in time: checkpoints, how far they got;
    they show a progress bar (``progress``: the pipeline shows no spinner of its own)."""

    progress = True

    def checkpoints(self, config: cfg.CaseConfig) -> bool:
        out = config.output
        return bool(out.checkpoint_interval or out.checkpoint_period)

    def reached(self, solver) -> dict:
        """The time reached (s) and the steps done."""
        return {"t_reached": float(solver.t), "steps_done": max(len(solver.records) - 1, 0)}

    def checkpointer(
        self, config: cfg.CaseConfig, t_end: float, output: Path, summary: dict, solver
    ) -> Checkpointer:
        """The step callback writing this kind's checkpoints (``t_end``: the run's end, s)."""
        return Checkpointer(config, output, summary, solver, self.name, t_end)


@register
class Transient(Stepping):
    """A march in time: a case with ``[time]``; writes ``time_series.csv``."""

    name = "transient"

    def applies(self, config: cfg.CaseConfig) -> bool:
        return config.time is not None

    def output_names(self, config: cfg.CaseConfig) -> list[str]:
        out = config.output
        return [SERIES, *series_names(out.fields, out.renders, [e.name for e in config.electrodes])]

    def make_solver(self, config: cfg.CaseConfig, model: CellModel) -> TransientSolver:
        return TransientSolver(model, transient_options(config))

    def run(
        self,
        config: cfg.CaseConfig,
        solver: TransientSolver,
        output: Path,
        summary: dict,
        callback: StepCallback | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> dict:
        """March with a progress bar, the field series and checkpoints; writes
        ``time_series.csv``."""
        comm, t_end = solver.model.domain.comm, solver.options.t_end
        done = checkpoint.meta.get("segments", 0) if checkpoint is not None else 0
        out = config.output
        series = FieldSeries(output, t_end, fields=out.fields, renders=out.renders, done=done)
        series.start(comm)
        saver = self.checkpointer(config, t_end, output, summary, solver)
        saver.recorder = series
        with TimeProgress(t_end, comm) as progress:
            try:
                records = solver.run(callback=_chain(series, progress, saver, callback))
            finally:  # also a failed run: its last accepted state, the animations
                series.end(solver, solver.records)
        self.save_series(solver, output)
        return {
            "transient": {
                "t_final_s": solver.t,
                "steps": len(records) - 1,
                "stop_reason": solver.stop_reason,
                "depletion_time_s": solver.depletion_time,
            }
        }

    def save_series(self, solver: TransientSolver, output: Path) -> None:
        """``time_series.csv`` of the records so far (rank 0)."""
        if solver.records:
            text = time_series_csv(solver.records).encode()
            on_root(solver.model.domain.comm, lambda: atomic_write_bytes(output / SERIES, text))


@register
class Growth(Stepping):
    """Deposition growth: a case with ``[growth]``; writes ``growth_series.csv`` (and
    moving fields, morphology pictures)."""

    name = "growth"

    def applies(self, config: cfg.CaseConfig) -> bool:
        return config.growth is not None

    def output_names(self, config: cfg.CaseConfig) -> list[str]:
        out, electrodes = config.output, [e.name for e in config.electrodes]
        names = ["growth_series.csv", "growth_series.png"]
        names += series_names(out.fields, out.renders, electrodes)
        if config.output.renders:
            names += [f"morphology_{glob.escape(e.name)}_t*.png" for e in config.electrodes]
        return names

    def make_solver(self, config: cfg.CaseConfig, model: CellModel) -> GrowthSolver:
        return GrowthSolver(model, growth_options(config))

    def run(
        self,
        config: cfg.CaseConfig,
        solver: GrowthSolver,
        output: Path,
        summary: dict,
        callback: StepCallback | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> dict:
        """Grow with snapshots, a time series and checkpoints; returns the growth summary.

        Restarting, the moving-field files the checkpoint counts are kept (later ones are
        rewritten). On a failed step the series so far is still written."""
        comm, t_end = solver.model.domain.comm, solver.options.t_end
        segments = checkpoint.meta.get("segments", 0) if checkpoint is not None else 0
        out = config.output
        recorder = GrowthRecorder(output, out.renders, out.fields, segments, t_end)
        recorder.start(comm)
        saver = self.checkpointer(config, t_end, output, summary, solver)
        saver.recorder = recorder
        with TimeProgress(t_end, comm) as progress:
            try:
                records = solver.run(callback=_chain(recorder, progress, saver, callback))
            except (SolverError, MeshMotionError):  # collective failures: the series so far
                recorder.finish(solver.records, comm, solver)
                raise
        recorder.finish(records, comm, solver)
        return {"growth": growth_summary(solver)}


def growth_summary(solver: GrowthSolver) -> dict:
    """The last record, the step count, the first record (both under the metrics keys,
    :func:`~femli.outputs.metrics_format.growth_metrics`), the wall seconds of its new
    meshes (:attr:`GrowthSolver.seconds`), the initial deposit centres
    (um, merging runs) and the merge events of a growth run."""
    records = solver.records
    final = growth_metrics(records[-1])
    growth = {**final, "steps": len(records) - 1, "initial": growth_metrics(records[0])}
    growth["new_mesh_seconds"] = {k: round(v, 3) for k, v in solver.seconds.items()}
    if solver.seeds is not None:  # merging: deposit ids index the initial centres (um)
        growth["deposit_centres_um"] = [[float(x) for x in c] for c in solver.seeds]
    return growth | {"merge_events": [merge_event_metrics(e) for e in solver.merges]}


class Checkpointer:
    """Step callback writing ``<output>/checkpoint`` every ``checkpoint_interval`` steps
    and/or ``checkpoint_period`` s of simulated time (``[output]``), labelled with the run
    kind ``kind``, until ``t_end`` (s). Collective."""

    def __init__(
        self,
        config: cfg.CaseConfig,
        output: Path,
        summary: dict,
        solver,
        kind: str,
        t_end: float,
    ) -> None:
        out = config.output
        self.interval, self.period = out.checkpoint_interval, out.checkpoint_period
        self.output, self.solver, self.t_end = Path(output), solver, t_end
        self.meta = {
            "kind": kind,
            "digest": physics_digest(config),
            "config_sha256": config.digest(),
            "summary": summary,
        }
        self.recorder: FieldSeries | None = None
        self.step0 = max(len(solver.records) - 1, 0)
        self.t0 = float(solver.t)
        self.written = 0

    @property
    def enabled(self) -> bool:
        """Whether the case asks for checkpoints."""
        return self.interval is not None or self.period is not None

    def due(self, step: int, t: float) -> bool:
        """Whether the state after ``step`` (at time ``t``, s) is to be saved."""
        if not self.enabled or t >= self.t_end * (1 - 1e-12):
            return False
        by_steps = self.interval is not None and step - self.step0 >= self.interval
        by_time = self.period is not None and t - self.t0 >= self.period * (1 - 1e-12)
        return by_steps or by_time

    def __call__(self, solver, record: dict) -> None:
        step, t = len(solver.records) - 1, float(record["t"])
        if not self.due(step, t):
            return
        extra = {}
        if self.recorder is not None:
            extra["segments"] = self.recorder.seal()
        if write_checkpoint(self.output, solver, {**self.meta, **extra, "step": step}):
            self.step0, self.t0, self.written = step, t, self.written + 1


def _chain(*callbacks: Callable | None) -> Callable:
    """One step callback calling each in turn; True if the last (the user's) says stop.

    A pending SIGTERM/SIGINT (:mod:`femli.interrupt`) stops the run after them."""
    active = [c for c in callbacks if c is not None]

    def call(solver, record: dict) -> bool:
        answer = None
        for c in active:
            answer = c(solver, record)
        check_interrupt(solver.model.domain.comm)  # a stop request: here, after the checkpoint
        return bool(answer)

    return call


def time_series_csv(records: list[dict]) -> str:
    """Flatten transient records into CSV text (SI units in the headers)."""
    electrodes = list(records[0]["potential"])
    head = ["step", "t_s", "dt_s", "newton_iterations", "rejected"]
    for name in electrodes:
        head += [f"potential_V_{name}", f"current_A_{name}", f"c_min_mol_m3_{name}"]
    lines = [",".join(head)]
    for r in records:
        row = [r["step"], r["t"], r["dt"], r["newton_iterations"], r["rejected"]]
        for name in electrodes:
            row += [r["potential"][name], r["current"][name], r["c_min"].get(name, "")]
        lines.append(",".join(f"{v:.10g}" if isinstance(v, float) else str(v) for v in row))
    return "\n".join(lines) + "\n"
