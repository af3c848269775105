"""Progress of time-dependent runs: a rich progress bar on rank 0 only."""

from __future__ import annotations

import logging

from mpi4py import MPI
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = [
    "TimeProgress",
]


class TimeProgress:
    """Context manager giving a ``callback(solver, record)`` that advances a bar to t_end (s).

    Silent on other ranks and when the ``femli`` logger is quieter than INFO.
    """

    def __init__(self, t_end: float, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
        self.t_end = t_end
        quiet = logging.getLogger("femli").getEffectiveLevel() > logging.INFO
        self.enabled = comm.rank == 0 and not quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None

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
        """Advance the bar; never asks the run to stop."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=record["t"], t=record["t"], dt=record["dt"])
        return False
