"""Array tasks of a study and the Slurm job-array script that runs them.

Task ``t`` runs cases ``t*K ... min((t+1)*K, n) - 1`` of the ``n`` cases (study order,
``K`` cases per task); there are ``ceil(n / K)`` tasks, numbered from 0 as in
``#SBATCH --array=0-<tasks - 1>``. A task writes only its own case folders (and
``cases.csv``, identical for every task, by atomic rename), so tasks may run at the same
time into one study folder; ``femli sweep STUDY --summarize-only`` builds the summary
afterwards. The script runs ``femli sweep STUDY --task-id $SLURM_ARRAY_TASK_ID`` with
the absolute path of this environment's ``femli``, one case at a time on ``--ntasks``
(= ranks per case) MPI ranks.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

import femli
from femli.outputs.files import atomic_write_bytes
from femli.outputs.folder import tracking
from femli.study.expand import Study, StudyCase
from femli.study.spec import StudyError

__all__ = [
    "FROM_ENVIRONMENT",
    "LOG_FOLDER",
    "SOURCE",
    "TASK_VARIABLE",
    "SlurmOptions",
    "femli_command",
    "parse_task_id",
    "slurm_options",
    "slurm_script",
    "task_cases",
    "task_count",
    "write_slurm_script",
]

#: The environment variable Slurm sets to the array index of a task.
TASK_VARIABLE = "SLURM_ARRAY_TASK_ID"
#: ``--task-id`` words that read the task number from :data:`TASK_VARIABLE`.
FROM_ENVIRONMENT = ("env", "auto")
#: Subfolder of the study folder for the tasks' Slurm logs (Slurm does not create it).
LOG_FOLDER = "slurm"
#: The ``source`` of the errors about command-line options.
SOURCE = "femli sweep"

_TIME = re.compile(r"^(\d+-)?\d{1,3}:[0-5]\d:[0-5]\d$")
_MEM = re.compile(r"^[1-9]\d*[KMGT]?$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z0-9_.,+-]+$")


def _at_least_one(option: str, value: int) -> None:
    if value < 1:
        raise StudyError([f"{option} {value}: must be a whole number >= 1"], SOURCE)


def task_count(cases: int, cases_per_task: int = 1) -> int:
    """Number of array tasks for ``cases`` cases, ``cases_per_task`` per task."""
    _at_least_one("--cases-per-task", cases_per_task)
    return max(1, -(-cases // cases_per_task))


def task_cases(study: Study, task: int, cases_per_task: int = 1) -> tuple[StudyCase, ...]:
    """The cases array task ``task`` runs (a clear :class:`StudyError` when out of range)."""
    tasks = task_count(len(study.cases), cases_per_task)
    if not 0 <= task < tasks:
        raise StudyError(
            [
                f"--task-id {task}: study {study.name!r} has {len(study.cases)} case(s), "
                f"{cases_per_task} per task (--cases-per-task), so {tasks} task(s); "
                f"allowed 0..{tasks - 1}"
            ],
            SOURCE,
        )
    return study.cases[task * cases_per_task : (task + 1) * cases_per_task]


def parse_task_id(text: str, environ: Mapping[str, str] | None = None) -> int:
    """``--task-id`` -> task number: a number, or ``env``/``auto`` for $SLURM_ARRAY_TASK_ID."""
    environ = os.environ if environ is None else environ
    value, origin = text.strip(), f"--task-id {text!r}"
    if value.lower() in FROM_ENVIRONMENT:
        if TASK_VARIABLE not in environ:
            raise StudyError(
                [f"{origin}: ${TASK_VARIABLE} is not set (not a Slurm array task); give 0, 1, ..."],
                SOURCE,
            )
        value = environ[TASK_VARIABLE].strip()
        origin = f"{origin}: ${TASK_VARIABLE}={value!r}"
    if not value.isdigit():
        words = "' or '".join(FROM_ENVIRONMENT)
        raise StudyError([f"{origin}: expected a task number 0, 1, 2, ... or '{words}'"], SOURCE)
    return int(value)


class SlurmOptions(BaseModel):
    """What the job-array script asks of Slurm (the ``femli sweep --emit-slurm`` options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cases_per_task: int = 1
    ranks_per_case: int = 1  # = #SBATCH --ntasks: MPI ranks on one case
    time: str = "01:00:00"  # per array task, [D-]HH:MM:SS
    partition: str | None = None
    account: str | None = None
    mem: str | None = None  # per node, e.g. 4G or 4000 (MB)
    launcher: Literal["srun", "mpiexec"] = "srun"

    @field_validator("cases_per_task", "ranks_per_case")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a whole number >= 1")
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError("expected HH:MM:SS or D-HH:MM:SS wall time per task, e.g. 02:00:00")
        return value

    @field_validator("mem")
    @classmethod
    def _mem(cls, value: str | None) -> str | None:
        if value is not None and not _MEM.match(value):
            raise ValueError("expected a size like 4G, 500M or 4000 (MB)")
        return value

    @field_validator("partition", "account")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError("expected a Slurm name: letters, digits, '_', '-', '.', ','")
        return value


def slurm_options(**values) -> SlurmOptions:
    """Validated :class:`SlurmOptions`; a :class:`StudyError` names each bad option."""
    given = {k: v for k, v in values.items() if v is not None}
    try:
        return SlurmOptions(**given)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = str(e["loc"][0])
            message = e["msg"].removeprefix("Value error, ")
            problems.append(f"--{key.replace('_', '-')} {given.get(key)!r}: {message}")
        raise StudyError(problems, SOURCE) from None


def femli_command() -> list[str]:
    """This environment's ``femli`` as an absolute command (``python -m femli`` if no script)."""
    python = Path(os.path.abspath(sys.executable))
    script = python.parent / "femli"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [str(python), "-m", "femli"]


def _launcher(options: SlurmOptions) -> list[str]:
    """``srun`` (Slurm's own launcher) or this environment's ``mpiexec`` on the job's ranks."""
    if options.launcher == "srun":
        return ["srun", f"--ntasks={options.ranks_per_case}"]
    local = Path(os.path.abspath(sys.executable)).parent / "mpiexec"
    found = str(local) if local.is_file() else shutil.which("mpiexec")
    if found is None:
        raise StudyError(["--launcher mpiexec: no mpiexec next to Python or on PATH"], SOURCE)
    return [found, "-n", str(options.ranks_per_case)]


def slurm_script(
    study: Study,
    study_file: Path,
    output: Path,
    options: SlurmOptions,
    plots: Sequence[str] = (),
    script: Path | None = None,
) -> str:
    """The sbatch job-array script: one array task per ``cases_per_task`` cases.

    ``script``: where it will be written (named in its comments); ``plots``: ``--plot``
    options for the summary command it suggests.
    """
    tasks = task_count(len(study.cases), options.cases_per_task)
    study_file, output = Path(study_file).absolute(), Path(output).absolute()
    femli_cmd = [*femli_command(), "sweep", str(study_file), "-o", str(output)]
    run = [*_launcher(options), *femli_cmd, "--ranks-per-case", str(options.ranks_per_case)]
    run += ["--cases-per-task", str(options.cases_per_task), "--task-id"]
    summary = [*femli_cmd, "--summarize-only", *(x for p in plots for x in ("--plot", p))]
    header = [
        ("job-name", re.sub(r"[^A-Za-z0-9_.-]", "_", study.name)),
        ("array", f"0-{tasks - 1}"),
        ("ntasks", str(options.ranks_per_case)),
        ("cpus-per-task", "1"),
        ("time", options.time),
        ("partition", options.partition),
        ("account", options.account),
        ("mem", options.mem),
        ("output", str(output / LOG_FOLDER / "%x_%A_%a.out")),
    ]
    summarize = shlex.join(summary)
    me = shlex.quote(str(Path(script).absolute())) if script is not None else "THIS_SCRIPT"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return "\n".join(
        [
            "#!/bin/bash",
            f"# femli {femli.__version__} sweep {study.name!r} as a Slurm job array ({stamp}):",
            f"# {len(study.cases)} case(s), {options.cases_per_task} per array task -> "
            f"{tasks} task(s), {options.ranks_per_case} MPI rank(s) per case.",
            *(f"#SBATCH --{key}={value}" for key, value in header if value is not None),
            "set -euo pipefail",
            "export OMP_NUM_THREADS=1  # one thread per MPI rank",
            f'{shlex.join(run)} "${TASK_VARIABLE}"',
            "",
            f"# Submit:  sbatch {me}   (a rerun skips the cases finished before)",
            "# When the tasks are done (any time; unfinished cases show as pending), build",
            "# summary.csv, summary.parquet and the plots from the case folders:",
            f"#   {summarize}",
            "# or chain it after the array:",
            f"#   jid=$(sbatch --parsable {me})",
            f"#   sbatch --dependency=afterany:$jid --ntasks=1 --wrap={shlex.quote(summarize)}",
            "",
        ]
    )


def write_slurm_script(text: str, script: Path, output: Path) -> Path:
    """Write the script (atomically, executable) and create the tasks' log folder."""
    (Path(output) / LOG_FOLDER).mkdir(parents=True, exist_ok=True)
    with tracking(output):
        atomic_write_bytes(script, text.encode())
    os.chmod(script, 0o755)
    return Path(script)
