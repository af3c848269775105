"""Running a study over MPI: communicator groups, round-robin cases, resume, failures.

``COMM_WORLD`` is split into groups of ``ranks_per_case`` ranks (``color = rank // K``);
case ``i`` goes to group ``i % groups`` (static and deterministic). Each group runs its
cases one after another with :func:`femli.pipeline.run_case` on the group communicator; the
group's rank 0 writes the case's files. Groups never call a collective on
``COMM_WORLD`` while they work (they finish at different times); one final gather, then
world rank 0 aggregates and plots.

Files in ``<output>/``: ``cases.csv`` (index, written first), ``<case_id>/`` per case
(``metrics.json`` last, or ``status.json`` with the error of a failed case),
``summary.csv``, ``summary.parquet`` and ``plots/*.png`` (all written atomically).

``run_study(..., cases=..., summarize=False)`` runs a subset (one array task, see
:mod:`femli.study.slurm`) and leaves the summary to :func:`summarize_study`, so tasks running
at the same time never write the same file (``cases.csv`` is identical and renamed in).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w
from mpi4py import MPI

from femli.outputs.files import atomic_write_bytes, atomic_write_json
from femli.outputs.folder import FolderBusyError, tracking
from femli.parallel import on_root
from femli.study.expand import Study, StudyCase, expand_study
from femli.study.plots import plot_summary
from femli.study.spec import PlotSpec, StudyError
from femli.study.summary import aggregate, case_state

__all__ = [
    "CaseOutcome",
    "StudyResult",
    "group_count",
    "plan",
    "run_study",
    "summarize_study",
    "write_failure",
    "write_index",
]

log = logging.getLogger("femli")


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """What this run did with one case: ``ran``, ``skipped`` (finished before) or ``failed``."""

    case_id: str
    action: str
    group: int
    started: float  # UNIX time (s) when the group took the case
    seconds: float  # wall time of the case in this run (0 when skipped)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StudyResult:
    """Outcome of :func:`run_study` (the same on every rank, except ``table``: rank 0 only)."""

    output: Path
    outcomes: tuple[CaseOutcome, ...]
    groups: int
    ranks_per_case: int
    seconds: float
    table: Any = None  # pandas DataFrame on world rank 0, else None
    plots: tuple[Path, ...] = ()
    summarized: bool = True  # False for one array task (summary built later)

    def count(self, action: str) -> int:
        """Number of cases with ``action`` ("ran", "skipped", "failed")."""
        return sum(o.action == action for o in self.outcomes)

    @property
    def failed(self) -> int:
        """Number of failed cases (the CLI's exit code, capped at 100)."""
        return self.count("failed")

    def describe(self) -> str:
        """A few lines for the terminal."""
        lines = [
            f"{len(self.outcomes)} cases: {self.count('ran')} ran, {self.count('skipped')} "
            f"skipped (finished before), {self.failed} failed; {self.groups} group(s) x "
            f"{self.ranks_per_case} rank(s), {self.seconds:.1f} s"
        ]
        lines += [f"failed {o.case_id}: {o.error}" for o in self.outcomes if o.error]
        if not self.summarized:
            lines.append("summary not built (one task of several; see --summarize-only)")
            return "\n".join(lines)
        lines.append(f"summary: {self.output / 'summary.csv'}, {self.output / 'summary.parquet'}")
        lines += [f"plot: {p}" for p in self.plots]
        return "\n".join(lines)


def group_count(size: int, ranks_per_case: int) -> int:
    """Number of case groups; ``ranks_per_case`` must divide the MPI size."""
    if ranks_per_case < 1 or size % ranks_per_case:
        raise StudyError(
            [f"--ranks-per-case {ranks_per_case} must be >= 1 and divide the {size} MPI rank(s)"]
        )
    return size // ranks_per_case


def run_study(
    study: Study | str | Path,
    output: str | Path,
    comm: MPI.Comm = MPI.COMM_WORLD,
    ranks_per_case: int = 1,
    plots: Iterable[str | PlotSpec] = (),
    *,
    cases: Sequence[StudyCase] | None = None,
    summarize: bool = True,
) -> StudyResult:
    """Run every unfinished case of ``study`` into ``output``; aggregate and plot. Collective.

    ``study`` is an expanded :class:`Study` or a study file (expanded here with ``plots``,
    ``"metric:param"`` strings; for a :class:`Study`, give them to :func:`expand_study`).
    Finished cases (valid ``metrics.json`` of the same configuration) are skipped; failed
    ones are recorded in their ``status.json`` and the sweep goes on. ``cases``: run only
    these (default: all); ``summarize=False``: no summary or plots (an array task).
    """
    if not isinstance(study, Study):
        study = expand_study(study, plots=plots)
    elif plots:
        raise TypeError("plots go to expand_study() when run_study() is given a Study")
    groups = group_count(comm.size, ranks_per_case)
    output = Path(output)
    clock = time.perf_counter()
    selected = tuple(study.cases if cases is None else cases)
    on_root(comm, lambda: write_index(study, output))
    color = comm.rank // ranks_per_case
    group = comm.Split(color=color, key=comm.rank)
    mine = selected[color::groups]
    say = _reporter(group, color, len(mine))
    with _quiet():
        local = [_run_case(c, output, group, study.base_dir, color, say) for c in mine]
    leader = group.rank == 0
    gathered = comm.gather(local if leader else [], root=0)  # the final synchronisation
    outcomes = _in_order(gathered, selected) if gathered is not None else None  # rank 0
    table: Any = None
    paths: Sequence[Path] = ()
    if summarize:
        table, paths = on_root(comm, lambda: _summarise(study, output), share=False) or (None, ())
    outcomes = comm.bcast(outcomes, root=0)
    seconds = comm.bcast(time.perf_counter() - clock, root=0)
    return StudyResult(
        output, outcomes, groups, ranks_per_case, seconds, table, tuple(paths), summarize
    )


def summarize_study(
    study: Study, output: str | Path, comm: MPI.Comm = MPI.COMM_WORLD
) -> tuple[Any, tuple[Path, ...]]:
    """Summary table and plots of whatever cases are finished in ``output``. Collective.

    Rewrites ``cases.csv`` from ``study`` first (cases of another configuration show as
    stale). Returns (table, plot paths) on rank 0, (None, ()) elsewhere.
    """
    output = Path(output)

    def job() -> tuple[Any, list[Path]]:
        write_index(study, output)
        return _summarise(study, output)

    table, paths = on_root(comm, job, share=False) or (None, ())
    return table, tuple(paths)


def _in_order(
    gathered: list[list[CaseOutcome]], cases: Sequence[StudyCase]
) -> tuple[CaseOutcome, ...]:
    found = {o.case_id: o for part in gathered for o in part}
    return tuple(found[c.case_id] for c in cases)


def _summarise(study: Study, output: Path) -> tuple[Any, list[Path]]:
    with tracking(output):
        table = aggregate(output)
        params = [a.name for a in study.axes]
        return table, plot_summary(table, study.plots, params, output / "plots")


def write_index(study: Study, output: Path) -> Path:
    """``cases.csv``: index, case_id, one column per parameter, config_sha256 (atomic)."""
    import pandas as pd

    table = pd.DataFrame(study.rows())
    with tracking(output):
        return atomic_write_bytes(output / "cases.csv", table.to_csv(index=False).encode())


def _run_case(
    case: StudyCase, output: Path, group: MPI.Comm, base: Path, color: int, say
) -> CaseOutcome:
    """Skip, or run afresh, one case on the group communicator. Collective on ``group``."""
    import dolfinx_solver  # noqa: F401  (before PETSc)

    from femli.pipeline import run_case
    from femli.solve.problems import release

    folder = output / case.case_id
    state = group.bcast(case_state(folder, case.digest)[0] if group.rank == 0 else None)
    started = time.time()
    if state == "completed":
        say(case, "skipped (finished before)")
        return CaseOutcome(case.case_id, "skipped", color, started, 0.0)
    clock = time.perf_counter()
    try:  # stale, failed or half-done: start over (clear: what femli wrote there goes)
        run_case(case.config, folder, group, base, clear=True)
        outcome = CaseOutcome(case.case_id, "ran", color, started, time.perf_counter() - clock)
    except Exception as err:  # recorded; the sweep goes on
        error = f"{type(err).__name__}: {err}"
        if group.rank == 0 and not isinstance(err, FolderBusyError):  # not another run's
            write_failure(folder, case, error, group.size)
        outcome = CaseOutcome(
            case.case_id, "failed", color, started, time.perf_counter() - clock, error
        )
    gc.collect()  # this case's objects (reference cycles) go now, on every group rank ...
    release(group)  # ... and their parallel PETSc objects are destroyed collectively
    say(case, f"failed: {outcome.error}" if outcome.error else f"done in {outcome.seconds:.2f} s")
    return outcome


def write_failure(folder: Path, case: StudyCase, error: str, ranks: int) -> None:
    """``status.json`` (and the effective ``config.toml``) of a failed case, atomically
    (as well as it can: a folder that cannot take them is logged)."""
    try:
        with tracking(folder):
            _write_failure(folder, case, error, ranks)
    except OSError as err:
        log.warning("%s: failure not recorded: %s", folder, err)


def _write_failure(folder: Path, case: StudyCase, error: str, ranks: int) -> None:
    if not (folder / "config.toml").is_file():
        text = tomli_w.dumps(case.config.effective())
        atomic_write_bytes(folder / "config.toml", text.encode())
    atomic_write_json(
        folder / "status.json",
        {
            "status": "failed",
            "case_id": case.case_id,
            "error": error,
            "params": case.params,
            "config_sha256": case.digest,
            "mpi_size": ranks,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def _reporter(group: MPI.Comm, color: int, total: int) -> Callable[[StudyCase, str], None]:
    """Progress lines from each group's rank 0 (silent when ``femli`` logs above INFO)."""
    enabled = group.rank == 0 and log.isEnabledFor(logging.INFO)
    done = [0]

    def say(case: StudyCase, message: str) -> None:
        done[0] += 1
        if enabled:
            stamp = datetime.now().strftime("%H:%M:%S")
            line = f"{stamp} [group {color}] {done[0]}/{total} {case.case_id}: {message}\n"
            sys.stderr.write(line)
            sys.stderr.flush()

    return say


@contextlib.contextmanager
def _quiet():
    """Hide per-case INFO lines and progress bars (groups would interleave them).

    Kept with ``femli -v`` (DEBUG), for looking into one case.
    """
    logger = logging.getLogger("femli")
    level = logger.level
    if logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def plan(study: Study, output: Path, cases: Sequence[StudyCase] | None = None) -> str:
    """The cases (default: all) and what a run would do with each (``--dry-run``); reads only."""
    lines = [f"study {study.name!r}: {len(study.cases)} cases ({study.mode}) -> {output}/"]
    for case in study.cases if cases is None else cases:
        state = case_state(Path(output) / case.case_id, case.digest)[0]
        action = "skip (finished)" if state == "completed" else f"run ({state})"
        lines.append(f"  {case.case_id:<40} {action}")
    return "\n".join(lines)
