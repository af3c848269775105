"""The ``femli`` command line: a thin layer over the Python API.

Runs unchanged under ``mpirun -n N femli ...``; only rank 0 prints.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import typer

import femli
from femli import discovery
from femli.parallel import setup_logging

__all__ = ["app", "check", "classify", "compare", "demo", "entry", "info", "main", "run", "sweep"]

STARTED = time.perf_counter()  # the command's start (for --profile)

app = typer.Typer(
    add_completion=False,
    # help texts are plain text: TOML sections like "[time]" and defaults like
    # "[STUDY_FOLDER/...]" must not be read as markup (rich dropped them)
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Finite-element models of lithium-metal electrodeposition (Gmsh + DOLFINx).",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"femli {femli.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show solver details."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors."),
) -> None:
    """femli: tertiary current distribution and Li deposition on micro-structures."""
    setup_logging(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


@app.command()
def info() -> None:
    """Versions of femli, DOLFINx, PETSc, Gmsh and MPI; PETSc solver packages; MPI size."""
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from femli.outputs.status import git_commit, software_versions, solver_packages

    versions = software_versions()
    packages = solver_packages()
    if MPI.COMM_WORLD.rank == 0:
        for name, value in versions.items():
            typer.echo(f"{name:<14} {value}")
        typer.echo(f"{'git commit':<14} {git_commit() or 'unknown'}")
        typer.echo(f"{'mpi size':<14} {MPI.COMM_WORLD.size}")
        have = [n for n, ok in packages.items() if ok] + ["gamg (built in)"]
        missing = [n for n, ok in packages.items() if not ok]
        typer.echo(f"{'solvers':<14} {', '.join(have)}")
        typer.echo(f"{'not built':<14} {', '.join(missing) or '-'}")


def _fail(message: str, code: int = 2) -> None:
    """One clear message on rank 0 and the same exit code on every rank."""
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank == 0:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _problems(source, problems: list[str]) -> str:
    return f"{source}: {len(problems)} problem(s)\n  " + "\n  ".join(problems)


def _load(case: Path):
    from femli.case.checks import load_case
    from femli.messages import ConfigError

    try:
        return load_case(case)
    except ConfigError as err:
        _fail(_problems(case, err.problems))


@app.command()
def check(case: Path = typer.Argument(..., help="Case file (TOML).")) -> None:
    """Validate a case file, its geometry parameters, region names and mesh file: every
    problem in one pass; exit code 0 if none, 2 if any."""
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from femli.case.preflight import check_file
    from femli.messages import ConfigError

    try:
        config = check_file(case, MPI.COMM_WORLD)
    except ConfigError as err:
        _fail(_problems(case, err.problems))
    if MPI.COMM_WORLD.rank == 0:
        typer.echo(f"{case}: ok (case {config.name!r}, sha256 {config.digest()[:12]})")


@app.command()
def run(
    case: Path = typer.Argument(..., help="Case file (TOML)."),
    output: Path = typer.Option(None, "--output", "-o", help="Results folder."),
    restart: bool = typer.Option(
        False, "--restart", help="Continue from the folder's last checkpoint ([time], [growth])."
    ),
    profile: bool = typer.Option(
        False, "--profile", help="Print where the time went: seconds and memory per stage."
    ),
) -> None:
    """Run a case: geometry, mesh, physics, solve, outputs (works under mpirun).

    Exit codes: 0 done, 2 bad input, 3 solve failed (last converged state saved),
    130 interrupted.
    """
    config = _load(case)
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from femli.outputs.metrics import describe
    from femli.outputs.profile import profile_table
    from femli.pipeline import run_case

    output = output or Path("results") / config.name
    startup = time.perf_counter() - STARTED
    metrics = _guarded(
        lambda: run_case(config, output, MPI.COMM_WORLD, case.parent, restart=restart)
    )
    if MPI.COMM_WORLD.rank == 0:
        typer.echo(describe(metrics))
        typer.echo(f"results in {output}/")
        if profile:  # from the process start: imports and start-up count too
            typer.echo(profile_table(metrics, time.perf_counter() - STARTED, startup))


def classify(err: BaseException) -> tuple[int, str] | None:
    """(exit code, message) of a known failure, None for anything else (a bug).

    2: bad input or files (configuration, geometry, regions, model set-up, checkpoint,
    unreadable/unwritable files); 3: a solve that failed after every recovery (the last
    converged state is saved); 130: interrupted (SIGINT, SIGTERM).
    """
    from femli.checkpoint import CheckpointError
    from femli.geometry import GeometryError
    from femli.growth.motion import MeshMotionError
    from femli.mesh import RegionError
    from femli.messages import ConfigError
    from femli.physics.model import ModelError
    from femli.solve.newton import SolverError

    if isinstance(err, ConfigError):
        return 2, _problems(err.source, err.problems)
    if isinstance(err, GeometryError | RegionError | ModelError | CheckpointError | OSError):
        return 2, str(err)
    if isinstance(err, SolverError | MeshMotionError):
        return 3, str(err)
    if isinstance(err, KeyboardInterrupt):
        return 130, "interrupted; results so far are kept (femli run --restart continues)"
    return None


def _guarded(job):
    """Run ``job``; known failures (:func:`classify`) become one message and their exit code."""
    from femli.interrupt import stop_at_safe_points

    try:
        with stop_at_safe_points():
            return job()
    except (Exception, KeyboardInterrupt) as err:
        known = classify(err)
        if known is None:
            raise
        _fail(known[1], known[0])


@app.command()
def compare(
    a: Path = typer.Argument(..., help="First result folder."),
    b: Path = typer.Argument(..., help="Second result folder."),
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the comparison."),
) -> None:
    """Compare two result folders: metric table (CSV, Markdown) and a side-by-side figure."""
    from femli.outputs.compare import CompareError
    from femli.outputs.compare import compare as run_compare

    output = output or Path("results") / f"compare_{a.name}_vs_{b.name}"
    try:
        table = run_compare(a, b, output)
    except CompareError as err:
        _fail(str(err))
    typer.echo(table)
    typer.echo(f"comparison in {output}/ (comparison.csv, comparison.md, comparison.png)")


_SLURM_ONLY = ("time", "partition", "account", "mem", "script", "launcher")


@app.command()
def sweep(
    study: Path = typer.Argument(..., help="Study file (TOML): base case + parameter axes."),
    output: Path = typer.Option(None, "--output", "-o", help="Study folder."),
    ranks_per_case: int = typer.Option(1, "--ranks-per-case", "-k", help="MPI ranks per case."),
    plot: list[str] = typer.Option(None, "--plot", help="METRIC:PARAM plot (repeatable)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and list cases only."),
    task_id: str = typer.Option(
        None,
        "--task-id",
        help="Run only array task N's cases, no summary; 'env': $SLURM_ARRAY_TASK_ID.",
    ),
    cases_per_task: int = typer.Option(None, "--cases-per-task", help="Cases per array task [1]."),
    summarize_only: bool = typer.Option(
        False, "--summarize-only", help="Only build summary and plots from finished cases."
    ),
    emit_slurm: bool = typer.Option(
        False, "--emit-slurm", help="Write an sbatch job-array script."
    ),
    script: Path = typer.Option(
        None, "--script", help="Script path [STUDY_FOLDER/slurm_array.sh]."
    ),
    time: str = typer.Option(None, "--time", help="Slurm wall time per task [01:00:00]."),
    partition: str = typer.Option(None, "--partition", help="Slurm partition."),
    account: str = typer.Option(None, "--account", help="Slurm account."),
    mem: str = typer.Option(None, "--mem", help="Slurm memory per node, e.g. 4G."),
    launcher: str = typer.Option(None, "--launcher", help="srun (default) or mpiexec."),
) -> None:
    """Run a parameter study (resumable; cases spread over MPI groups); exit code = failures.

    Cluster: --emit-slurm writes a Slurm job array of --task-id runs; then --summarize-only.
    """
    given = dict(locals())  # the options, for the helpers below
    import dolfinx_solver  # noqa: F401

    from femli.study import StudyError, expand_study

    try:
        _sweep_flags(given)
        cases = expand_study(study, plots=plot or ())
        output = output or Path("results") / cases.name
        if emit_slurm:
            _guarded(lambda: _sweep_emit(cases, study, output, given))  # OSError: exit 2
        elif summarize_only:
            _sweep_summarize(cases, output)
        else:
            _sweep_run(cases, output, ranks_per_case, task_id, cases_per_task or 1, dry_run)
    except StudyError as err:
        _fail(_problems(err.source, err.problems))


def _sweep_flags(given: dict) -> None:
    """Options that do not go together (a :class:`StudyError` naming them)."""
    from femli.study import StudyError

    modes = [f for f in ("task_id", "summarize_only", "emit_slurm") if given[f]]
    problems = []
    if len(modes) > 1:
        problems.append(f"{_flags(modes)}: give at most one of them")
    stray = [f for f in _SLURM_ONLY if given[f] is not None and not given["emit_slurm"]]
    if stray:
        problems.append(f"{_flags(stray)}: only with --emit-slurm")
    if given["cases_per_task"] is not None and not (given["task_id"] or given["emit_slurm"]):
        problems.append("--cases-per-task: only with --task-id or --emit-slurm")
    if given["summarize_only"] and given["dry_run"]:
        problems.append("--summarize-only --dry-run: give one of them")
    if problems:
        raise StudyError(problems, "femli sweep")


def _flags(names: list[str]) -> str:
    return " ".join("--" + n.replace("_", "-") for n in names)


def _sweep_run(cases, output, ranks_per_case, task_id, cases_per_task, dry_run) -> None:
    """The whole study, or one array task's cases (``task_id``) without the summary."""
    from mpi4py import MPI

    from femli.study import plan
    from femli.study.slurm import parse_task_id, task_cases, task_count

    rank0 = MPI.COMM_WORLD.rank == 0
    selected, task = None, None
    if task_id is not None:
        task = parse_task_id(task_id)
        selected = task_cases(cases, task, cases_per_task)
    if dry_run:
        if rank0:
            tasks = task_count(len(cases.cases), cases_per_task)
            typer.echo(plan(cases, output, selected))
            if task is not None and selected is not None:  # both from --task-id
                typer.echo(f"(task {task} of {tasks}: {len(selected)} case(s); no summary)")
        raise typer.Exit(0)
    result = _guarded(lambda: _run_cases(cases, output, ranks_per_case, selected, task))
    if rank0:
        typer.echo(result.describe())
    raise typer.Exit(min(result.failed, 100))


def _run_cases(cases, output: Path, ranks_per_case: int, selected, task: int | None):
    """Clean a killed sweep's temporary files (rank 0; not while array tasks run), then
    run the cases; a failure on rank 0 reaches every rank. Collective."""
    from mpi4py import MPI

    from femli.outputs.files import clean_stale
    from femli.parallel import on_root
    from femli.study import run_study

    comm = MPI.COMM_WORLD
    if task is None:
        on_root(comm, lambda: clean_stale(output))
    return run_study(cases, output, comm, ranks_per_case, cases=selected, summarize=task is None)


def _sweep_summarize(cases, output: Path) -> None:
    """Summary and plots of the finished cases in ``output``; exit code = failed cases."""
    from mpi4py import MPI

    from femli.study import StudyError
    from femli.study.runner import summarize_study

    if not output.is_dir():
        problem = f"study folder {str(output)!r} does not exist: nothing to summarize"
        raise StudyError([problem], "femli sweep")
    table, plots = _guarded(lambda: summarize_study(cases, output, MPI.COMM_WORLD))
    failed = MPI.COMM_WORLD.bcast(
        int((table["status"] == "failed").sum()) if table is not None else 0, root=0
    )
    if MPI.COMM_WORLD.rank == 0:
        counts = table["status"].value_counts()
        states = ", ".join(f"{counts.get(s, 0)} {s}" for s in _STATES)
        typer.echo(f"{len(table)} cases in {output}/: {states}")
        typer.echo(f"summary: {output / 'summary.csv'}, {output / 'summary.parquet'}")
        for path in plots:
            typer.echo(f"plot: {path}")
    raise typer.Exit(min(failed, 100))


_STATES = ("completed", "failed", "pending", "stale")


def _sweep_emit(cases, study: Path, output: Path, given: dict) -> None:
    """Write the sbatch job-array script (rank 0) and say how to submit it."""
    from mpi4py import MPI

    from femli.study.slurm import slurm_options, slurm_script, task_count, write_slurm_script

    options = slurm_options(
        cases_per_task=given["cases_per_task"],
        ranks_per_case=given["ranks_per_case"],
        **{k: given[k] for k in _SLURM_ONLY if k != "script"},
    )
    script = given["script"] or output / "slurm_array.sh"
    text = slurm_script(cases, study, output, options, given["plot"] or (), script)
    if MPI.COMM_WORLD.rank != 0:
        return
    if given["dry_run"]:
        typer.echo(text, nl=False)
        return
    write_slurm_script(text, script, output)
    tasks = task_count(len(cases.cases), options.cases_per_task)
    typer.echo(f"{script}: {tasks} array task(s) for {len(cases.cases)} case(s)")
    typer.echo(f"submit: sbatch {script}; then: femli sweep {study} -o {output} --summarize-only")


@app.command()
def demo(
    output: Path = typer.Option(Path("results/demo"), "--output", "-o", help="Results folder."),
    quick: bool = typer.Option(False, "--quick", help="Only the built-in rough-Li case."),
) -> None:
    """Run the built-in case and the reduced seed 000 / seed 003 comparisons."""
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    from femli.demo import run_comparisons, run_demo
    from femli.outputs.metrics import describe

    metrics = _guarded(lambda: run_demo(output / "rough_li", MPI.COMM_WORLD))
    rank0 = MPI.COMM_WORLD.rank == 0
    if rank0:
        typer.echo(describe(metrics))
        typer.echo(f"built-in case: {output / 'rough_li'}/ (metrics.json, *.png, fields/)")
    if quick:
        return
    folders = _guarded(lambda: run_comparisons(output, MPI.COMM_WORLD))
    if rank0:
        for folder in folders:
            typer.echo((folder / "comparison.md").read_text())
            typer.echo(f"figure: {folder / 'comparison.png'}")


# discovery: what a case file may name and contain (femli/discovery.py)
app.command("presets")(discovery.presets)
app.command("builders")(discovery.builders)
app.command("schema")(discovery.schema)


def entry() -> None:  # pragma: no cover - console entry for `python -m femli`
    """Entry point used by ``python -m femli``."""
    sys.exit(app())
