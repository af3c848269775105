"""What a run shows while it works, on rank 0 only: a spinner while a stage runs (the
mesh, a stationary solve), a progress bar for time-dependent runs, and the solver's
statistics as readable lines (one at INFO; with ``femli -v`` per-solve Newton
iterations, per-step lines and the time and memory of each stage)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from mpi4py import MPI
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = [
    "TimeProgress",
    "solver_details",
    "solver_summary",
    "stage_status",
    "stage_summary",
]

log = logging.getLogger("femli.progress")


def _shown(comm: MPI.Comm) -> bool:
    """Whether this rank shows progress: rank 0, the ``femli`` logger at INFO or below."""
    return comm.rank == 0 and logging.getLogger("femli").getEffectiveLevel() <= logging.INFO


@contextmanager
def stage_status(text: str, comm: MPI.Comm, live: bool = True) -> Iterator[None]:
    """A spinner with ``text`` on rank 0's terminal while the block runs (nothing on other
    ranks, off a terminal, when quiet, or with ``live=False``: another display is due)."""
    if not (live and _shown(comm)):
        yield
        return
    with Console(stderr=True).status(text):
        yield


def solver_summary(stats: dict, unknowns: int, seconds: float) -> str:
    """One line for the log: unknowns, Newton steps in how many solves, time (s)."""
    failed = stats.get("failed_solves", 0)
    recovered = f", {failed} recovered after a failure" if failed else ""
    return (
        f"solved: {unknowns} unknowns, {stats.get('newton_iterations', 0)} Newton iterations "
        f"in {stats.get('nonlinear_solves', 0)} solve(s){recovered} "
        f"({stats.get('krylov_iterations', 0)} linear iterations, {stats.get('preset', '?')} "
        f"solver), {seconds:.2f} s"
    )


def solver_details(stats: dict, history: list[int]) -> list[str]:
    """The lines ``femli -v`` adds: Newton iterations of each solve, the solve's time
    split (s) and counts, and the recoveries used."""
    shown = ", ".join(str(n) for n in history[:40]) + (", ..." if len(history) > 40 else "")
    return [
        f"Newton iterations per solve: {shown or '-'}",
        f"solver time: set-up {stats.get('setup_seconds', 0):.3g} s, assembly "
        f"{stats.get('assembly_seconds', 0):.3g} s, linear solver "
        f"{stats.get('linear_solver_seconds', 0):.3g} s; {stats.get('residual_evaluations', 0)} "
        f"residuals, {stats.get('jacobian_evaluations', 0)} Jacobians",
        f"recoveries: {stats.get('preconditioner_rebuild_retries', 0)} preconditioner "
        f"rebuilds, {stats.get('line_search_retries', 0)} line-search changes, "
        f"{stats.get('direct_solver_fallbacks', 0)} direct-solver fallbacks",
    ]


def stage_summary(stages: dict) -> str:
    """Time (s) and peak memory (MB, busiest rank) of each stage, one line."""
    parts = []
    for name, stage in stages.items():
        memory = stage.get("peak_rss_mb_max")
        parts.append(f"{name} {stage['seconds']:.2f} s" + (f" ({memory:.0f} MB)" if memory else ""))
    return "stages: " + ", ".join(parts)


class TimeProgress:
    """Context manager giving a ``callback(solver, record)`` that advances a bar to t_end (s).

    Silent on other ranks and when the ``femli`` logger is quieter than INFO.
    """

    def __init__(self, t_end: float, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
        self.t_end = t_end
        self.enabled = _shown(comm)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._newton: int | None = None  # Newton iterations before the step (femli -v)

    def __enter__(self) -> TimeProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]time[/bold]"),
                BarColumn(),
                TextColumn("{task.fields[t]:.4g} / {task.total:.4g} s"),
                TextColumn("dt {task.fields[dt]:.3g} s"),
                TimeElapsedColumn(),
            )
            self._progress.start()
            self._task = self._progress.add_task("time", total=self.t_end, t=0.0, dt=0.0)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, solver, record: dict) -> bool:
        """Advance the bar (and with ``femli -v`` log the step); never asks the run to stop."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=record["t"], t=record["t"], dt=record["dt"])
        if self.enabled and log.isEnabledFor(logging.DEBUG):
            newton = solver.newton.stats.newton_iterations
            done = newton - self._newton if self._newton is not None else newton
            self._newton = newton
            steps = len(solver.records) - 1
            if steps > 0:  # step 0 is the initial state
                log.debug(
                    "step %d: t = %.6g s, dt = %.3g s, %d Newton iterations",
                    steps,
                    record["t"],
                    record["dt"],
                    done,
                )
        return False
