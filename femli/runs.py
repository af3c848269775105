"""Time-stepping runs of a case: ``[time]`` (transient) and ``[growth]``, with progress,
series files, checkpoints and restarts. Called by :func:`femli.pipeline.run_case`.

Per step, on every rank, the solvers call one callback; here it chains the growth
recorder (snapshots, moving fields), the progress bar, the :class:`Checkpointer` and an
optional user callback, in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mpi4py import MPI

from femli import interrupt
from femli.case import schema as cfg
from femli.checkpoint import Checkpoint, physics_digest, write_checkpoint
from femli.growth.motion import MeshMotionError
from femli.growth.recorder import GrowthRecorder
from femli.growth.solver import GrowthSolver
from femli.outputs.files import atomic_write_bytes
from femli.outputs.progress import TimeProgress
from femli.parallel import on_root
from femli.solve.newton import SolverError
from femli.solve.transient import TransientSolver


class Checkpointer:
    """Step callback writing ``<output>/checkpoint`` every ``checkpoint_interval`` steps
    and/or ``checkpoint_period`` s of simulated time (``[output]``). Collective."""

    def __init__(self, config: cfg.CaseConfig, output: Path, summary: dict, solver) -> None:
        out = config.output
        self.interval, self.period = out.checkpoint_interval, out.checkpoint_period
        self.output, self.solver = Path(output), solver
        self.t_end = (config.growth or config.time).t_end
        self.meta = {
            "kind": "growth" if isinstance(solver, GrowthSolver) else "transient",
            "digest": physics_digest(config),
            "config_sha256": config.digest(),
            "summary": summary,
        }
        self.recorder: GrowthRecorder | None = None
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


def restore(solver, checkpoint: Checkpoint, comm: MPI.Comm) -> None:
    """Put a checkpoint's state into a solver built on the checkpoint's mesh. Collective."""
    checkpoint.restore(solver)


def _chain(*callbacks: Callable | None) -> Callable:
    """One step callback calling each in turn; True if the last (the user's) says stop.

    A pending SIGTERM/SIGINT (:mod:`femli.interrupt`) stops the run after them."""
    active = [c for c in callbacks if c is not None]

    def call(solver, record: dict) -> bool:
        answer = None
        for c in active:
            answer = c(solver, record)
        interrupt.check(solver.model.domain.comm)  # a stop request: here, after the checkpoint
        return bool(answer)

    return call


def run_growth(
    config: cfg.CaseConfig,
    solver: GrowthSolver,
    output: Path,
    summary: dict,
    callback: Callable | None = None,
    segments: int = 0,
) -> dict:
    """Grow with snapshots, a time series and checkpoints; returns the growth summary.

    ``segments``: moving-field files kept from before (a restart; later ones are
    rewritten). On a failed step the series so far is still written. Collective.
    """
    comm = solver.model.domain.comm
    recorder = GrowthRecorder(output, config.output.renders, config.output.fields, segments)
    on_root(comm, recorder.prune)
    saver = Checkpointer(config, output, summary, solver)
    saver.recorder = recorder
    with TimeProgress(config.growth.t_end, comm) as progress:
        try:
            records = solver.run(callback=_chain(recorder, progress, saver, callback))
        except (SolverError, MeshMotionError):  # collective failures: close files cleanly
            recorder.finish(solver.records, comm)
            raise
    recorder.finish(records, comm)
    final = {k: v for k, v in records[-1].items() if k != "snapshot"}
    growth = {**final, "steps": len(records) - 1, "initial": records[0]}
    if solver.seeds is not None:  # merging: deposit ids index the initial centres (um)
        growth["deposit_centres_um"] = [[float(x) for x in c] for c in solver.seeds]
    return {"growth": growth | {"merge_events": list(solver.merges)}}


def run_transient(
    config: cfg.CaseConfig,
    solver: TransientSolver,
    output: Path,
    summary: dict,
    callback: Callable | None = None,
) -> dict:
    """March in time with a progress bar and checkpoints; writes ``time_series.csv``.

    Collective.
    """
    comm = solver.model.domain.comm
    saver = Checkpointer(config, output, summary, solver)
    with TimeProgress(config.time.t_end, comm) as progress:
        records = solver.run(callback=_chain(progress, saver, callback))
    on_root(
        comm,
        lambda: atomic_write_bytes(output / "time_series.csv", time_series_csv(records).encode()),
    )
    return {
        "transient": {
            "t_final": solver.t,
            "steps": len(records) - 1,
            "stop_reason": solver.stop_reason,
            "depletion_time": solver.depletion_time,
        }
    }


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
