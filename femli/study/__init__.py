"""Parameter studies: expand axes over a base case, run the cases over MPI groups, resume,
aggregate every ``metrics.json`` into one table, plot metrics against parameters.

The same three calls back ``femli sweep`` and a study script, so both give identical
results::

    study = expand_study("study.toml")             # validate every case first
    result = run_study(study, "results/study", MPI.COMM_WORLD, ranks_per_case=2)
    table = aggregate("results/study")              # pandas DataFrame, any time later

On a cluster, :mod:`femli.study.slurm` splits the cases into array tasks
(``run_study(..., cases=task_cases(study, t, k), summarize=False)`` per task) and writes
the Slurm job-array script; :func:`summarize_study` aggregates afterwards.

See :mod:`femli.study.spec` for the study file, :mod:`femli.study.runner` for the
folders and files written, :mod:`femli.study.summary` for the summary columns.
"""

from femli.study.expand import Axis, Study, StudyCase, case_id, expand_study, set_path
from femli.study.plots import plot_summary
from femli.study.runner import (
    CaseOutcome,
    StudyResult,
    group_count,
    plan,
    run_study,
    summarize_study,
    write_index,
)
from femli.study.slurm import (
    SlurmOptions,
    parse_task_id,
    slurm_options,
    slurm_script,
    task_cases,
    task_count,
)
from femli.study.spec import PlotSpec, StudyError, parse_plot, parse_study
from femli.study.summary import CASE_METRICS, ELECTRODE_METRICS, aggregate, case_state

__all__ = [
    "CASE_METRICS",
    "ELECTRODE_METRICS",
    "Axis",
    "CaseOutcome",
    "PlotSpec",
    "SlurmOptions",
    "Study",
    "StudyCase",
    "StudyError",
    "StudyResult",
    "aggregate",
    "case_id",
    "case_state",
    "expand_study",
    "group_count",
    "parse_plot",
    "parse_study",
    "parse_task_id",
    "plan",
    "plot_summary",
    "run_study",
    "set_path",
    "slurm_options",
    "slurm_script",
    "summarize_study",
    "task_cases",
    "task_count",
    "write_index",
]
