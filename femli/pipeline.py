"""One case, end to end: configuration -> geometry -> mesh -> physics -> solve -> outputs.

:func:`run_case` is what ``femli run CASE.toml`` and ``femli demo`` call, and what a
parameter-study script calls; all three give identical results. Collective: every
rank calls it; rank 0 writes shared files. What is solved (a steady state, a ``[time]``
march, ``[growth]``), with which files and checkpoints, is the case's run kind's
(:func:`femli.runs.kind_of`); this module does the same for every kind.

Robustness, in order: the case is checked against its geometry, mesh file and output
folder before any mesh (:mod:`femli.case.preflight`); the folder is locked for the run
(:mod:`femli.outputs.folder`); a folder holding files of femli's names that femli did not
write is refused, and stale temporary files of a killed run are cleaned (only what the
folder's manifest says femli wrote, :mod:`femli.outputs.folder`); ``provenance.json``
records the run (:mod:`femli.outputs.status`). Writes check the free space first
(fields: before the solve too) and a full disk ends the run with
:class:`~femli.outputs.disk.NoSpaceError`. A
solve that fails after every recovery leaves its last converged state (``fields/``,
the time series so far) and ``status.json``; ``[time]`` and ``[growth]`` runs write
checkpoints when ``[output]`` asks for them, and ``restart=True`` continues from the
last one (:mod:`femli.checkpoint`, :mod:`femli.runs`).
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Callable
from pathlib import Path

import tomli_w
from mpi4py import MPI

from femli.case import schema as cfg
from femli.case.build import make_domain, make_model
from femli.case.preflight import check_case
from femli.checkpoint import FOLDER, MARKER, Checkpoint, CheckpointError, physics_digest
from femli.checkpoint import read_checkpoint as _read_checkpoint
from femli.growth.motion import MeshMotionError
from femli.interrupt import check as check_interrupt
from femli.messages import ConfigError
from femli.outputs.fields import check_space, write_fields
from femli.outputs.files import atomic_write_bytes, clean_stale
from femli.outputs.folder import adopt_legacy, folder_lock, refuse_foreign, remove, tracking
from femli.outputs.folder import of as manifest_of
from femli.outputs.metrics import write_stationary_outputs
from femli.outputs.metrics_format import geometry_metrics, upgrade
from femli.outputs.pictures import gather_scene
from femli.outputs.progress import solver_details, solver_summary, stage_status, stage_summary
from femli.outputs.status import RunStatus, now
from femli.parallel import on_root
from femli.physics.model import CellModel
from femli.runs import Solver, kind_of, time_series_csv
from femli.solve.newton import SolverError
from femli.solve.stats import measure_stage

log = logging.getLogger(__name__)

__all__ = [
    "make_solver",
    "output_names",
    "read_restart",
    "run_case",
    "time_series_csv",
    "write_outputs",
]


def make_solver(config: cfg.CaseConfig, model: CellModel) -> Solver:
    """The solver a case asks for (its run kind's, :func:`femli.runs.kind_of`)."""
    return kind_of(config).make_solver(config, model)


def run_case(
    config: cfg.CaseConfig,
    output: Path,
    comm: MPI.Comm = MPI.COMM_WORLD,
    base: Path = Path(),
    *,
    restart: bool = False,
    callback: Callable | None = None,
    clear: bool = False,
) -> dict:
    """Run a validated case into ``output``; returns the metrics written to metrics.json.

    The folder is locked for the whole run (:mod:`femli.outputs.folder`) and every path
    femli writes in it is recorded in its manifest (:mod:`femli.outputs.folder`):
    cleanup removes only recorded paths.

    Args:
        restart: continue a ``[time]``/``[growth]`` run from ``output/checkpoint``
            (from the start if there is none; a completed run is not redone).
        callback: ``callback(solver, record)`` after every step of a ``[time]`` or
            ``[growth]`` run, on every rank (a transient run stops when it returns True).
        clear: first delete everything femli wrote in ``output`` (a clean start, for a
            study's stale or failed case); the user's own files stay.

    Raises:
        ConfigError: the case does not fit its geometry, mesh file or output folder, or
            the checkpoint belongs to another case (before any mesh).
        FolderError: another run holds the folder (:class:`FolderBusyError`), the folder
            holds a file or folder of femli's names that femli did not write (before
            anything is touched), or lacks the room for a write (:class:`NoSpaceError`).
        SolverError, MeshMotionError: the solve failed after every recovery; the last
            converged state and ``status.json`` are in ``output``.
    """
    output = Path(output)
    check_case(config, base, output, comm)
    check_interrupt(comm)
    with folder_lock(output, comm, config.name), tracking(output, comm.rank == 0):
        on_root(comm, lambda: _prepare(config, output, restart, clear))
        if restart:
            done = _finished(output, config, comm)
            if done is not None:
                log.info("%s: finished before; nothing to do", output)
                return done
        return _start(config, output, comm, base, restart, callback)


def _start(config, output: Path, comm: MPI.Comm, base: Path, restart: bool, callback) -> dict:
    """Checkpoint (restart), status, configuration, then the run (in a locked folder)."""
    checkpoint = read_restart(config, output, comm) if restart else None
    status = RunStatus(output, config, comm)
    if checkpoint is None:
        on_root(comm, lambda: _forget(output))
    on_root(comm, lambda: _write_config(config, output))
    on_root(comm, lambda: status.start(checkpoint.meta["t"] if checkpoint else None))
    try:
        return _run(config, output, comm, base, checkpoint, callback, status)
    except KeyboardInterrupt as err:
        name = str(err.args[0]) if err.args else "SIGINT"
        status.finish("interrupted", f"interrupted ({name}); continue with --restart")
        raise
    except BaseException as err:
        status.finish("failed", f"{type(err).__name__}: {err}")
        raise


def output_names(config: cfg.CaseConfig, restart: bool = False) -> list[str]:
    """Glob patterns of what a run of ``config`` may write (or, restarting, read) in
    its folder: femli refuses to start where one of them exists and it did not write it."""
    names = ["config.toml", "provenance.json", "status.json", "metrics.json"]
    names += ["fields", "fields.tmp", "fields.old"]  # also the last state of a failed solve
    electrodes = [glob.escape(e.name) for e in config.electrodes]
    names += [f"surface_current_{e}.csv" for e in electrodes]
    if config.output.renders:
        names += ["concentration_flux.png", "current_density.png"]
        names += [f"{k}_{e}.png" for e in electrodes for k in ("electrode", "surface_current")]
    kind = kind_of(config)
    names += kind.output_names(config)
    if restart or kind.checkpoints(config):
        names += [FOLDER, f"{FOLDER}.tmp", f"{FOLDER}.old"]
    return names


def _prepare(config: cfg.CaseConfig, output: Path, restart: bool, clear: bool) -> None:
    """Rank 0, in the locked folder, before anything is written: refuse files of femli's
    names that femli did not write; remove a killed run's temporary files (``clear``:
    everything femli wrote)."""
    adopt_legacy(output, output_names(config, restart))
    refuse_foreign(output, output_names(config, restart))
    clean_stale(output, {"fields": None, "checkpoint": MARKER})
    if clear:
        manifest_of(output).remove_all()


def _forget(output: Path) -> None:
    """A fresh run: the previous run's completion marker, status and checkpoint go
    (only files femli wrote)."""
    from femli.checkpoint import remove_checkpoint

    for name in ("metrics.json", "status.json"):
        remove(output / name)
    remove_checkpoint(output)


def _write_config(config: cfg.CaseConfig, output: Path) -> None:
    """The effective configuration (defaults filled in) as ``config.toml``."""
    atomic_write_bytes(output / "config.toml", tomli_w.dumps(config.effective()).encode())


def _finished(output: Path, config: cfg.CaseConfig, comm: MPI.Comm) -> dict | None:
    """The metrics of a completed run of this configuration in ``output``, if any."""
    metrics = None
    if comm.rank == 0:
        try:
            metrics = json.loads((output / "metrics.json").read_text())
        except (OSError, ValueError):
            metrics = None
        ok = (
            isinstance(metrics, dict)
            and metrics.get("status") == "completed"
            and metrics.get("config_sha256") == config.digest()
        )
        metrics = upgrade(metrics) if ok and metrics is not None else None  # earlier femli too
    return comm.bcast(metrics, root=0)


def read_restart(config: cfg.CaseConfig, output: Path, comm: MPI.Comm) -> Checkpoint | None:
    """The checkpoint in ``output`` to continue ``config`` from (checked against the
    case: the same run kind and physics), or None. Collective."""
    try:
        checkpoint = _read_checkpoint(output, comm)
    except CheckpointError as err:
        raise ConfigError([f"--restart: {err}"], str(output)) from None
    if checkpoint is None:
        log.warning("%s has no checkpoint: starting from the beginning", output)
        return None
    meta, kind = checkpoint.meta, kind_of(config).name
    if meta.get("kind") != kind or meta.get("digest") != physics_digest(config):
        raise ConfigError(
            [
                f"--restart: the checkpoint in {output} belongs to another case "
                f"({meta.get('kind')} run, configuration {str(meta.get('digest'))[:12]}); "
                "run without --restart to start afresh"
            ],
            str(output),
        )
    log.info("restarting from the checkpoint at t = %.6g s", meta["t"])
    return checkpoint


def _run(config, output, comm, base, checkpoint, callback, status: RunStatus) -> dict:
    """Mesh (or the checkpoint's mesh), model, solver, solve, outputs. Collective."""
    stages: dict[str, dict] = {}  # wall time and peak memory per stage (metrics "stages")
    log.info("meshing %s ...", "the checkpoint's mesh" if checkpoint else "the geometry")
    with measure_stage(stages, "mesh", comm), stage_status("meshing ...", comm):
        if checkpoint is not None:
            domain, summary = checkpoint.domain(comm), checkpoint.meta["summary"]
        else:
            domain, summary = make_domain(config, comm, base)
        check_interrupt(comm)  # a stop request during meshing (also re-arms after Gmsh)
    timings = {"mesh": stages["mesh"]["seconds"]}
    log.info(
        "mesh: %d cells, %d vertices (%.2f s)",
        domain.num_cells_global(),
        domain.num_vertices_global(),
        timings["mesh"],
    )
    kind = kind_of(config)
    with measure_stage(stages, "setup", comm):
        model = make_model(config, domain)
        solver = kind.make_solver(config, model)
        if checkpoint is not None:
            checkpoint.restore(solver)
        if config.output.fields:  # stop before a solve whose fields would not fit
            check_space(model, output)
    timings["setup"] = stages["setup"]["seconds"]
    spinner = stage_status("solving ...", comm, live=not getattr(kind, "progress", False))
    try:
        with measure_stage(stages, "solve", comm), spinner:
            extra = kind.run(config, solver, output, summary, callback, checkpoint)
    except (SolverError, MeshMotionError):
        status.details.update(kind.save_last_state(config, solver, output))
        raise
    timings["solve"] = stages["solve"]["seconds"]
    # the solve's assembly share (residual and Jacobian callbacks, slowest rank)
    assembly = comm.allreduce(solver.newton.stats.assembly_seconds, op=MPI.MAX)
    stages["solve"]["assembly_seconds"] = round(assembly, 4)
    extra["stages"] = stages
    stats = {"preset": solver.newton.preset, **solver.newton.stats.as_dict()}
    log.info(solver_summary(stats, model.num_dofs(), timings["solve"]))
    for line in solver_details(stats, solver.newton.stats.history):
        log.debug(line)
    done = lambda: status.finish("completed")  # noqa: E731  (just before metrics.json)
    return write_outputs(config, solver, output, timings, summary, status.started, extra, done)


def write_outputs(
    config,
    solver,
    output: Path,
    timings: dict,
    summary: dict,
    started: str,
    more: dict,
    before_metrics: Callable[[], None] | None = None,
) -> dict:
    """Effective config, fields, metrics, tables and pictures; metrics.json last (after
    ``before_metrics``, on rank 0). Collective."""
    comm = solver.model.domain.comm
    with tracking(output, comm.rank == 0):  # record what is written (also when called alone)
        args = (config, solver, output, timings, summary, started, more, before_metrics)
        return _write_outputs(*args)


def _write_outputs(config, solver, output, timings, summary, started, more, before) -> dict:
    """:func:`write_outputs` in a folder being recorded. Collective."""
    comm = solver.model.domain.comm
    on_root(comm, lambda: _write_config(config, output))
    stages = more.setdefault("stages", {})
    scene = None
    with measure_stage(stages, "output", comm):  # the fields (pictures follow in metrics)
        if config.output.fields or config.output.renders:  # one gather for files and pictures
            scene = gather_scene(solver)
        if config.output.fields:
            write_fields(solver.model, output, solver.currents, scene)
    timings["fields"] = stages["output"]["seconds"]
    extra = {
        "case": config.name,
        "config_sha256": config.digest(),
        "geometry": geometry_metrics(summary),
        "started": started,
        "finished": now(),
        "status": "completed",
        **more,
    }
    metrics = write_stationary_outputs(
        solver, output, timings, extra, config.output.renders, before, scene
    )
    log.debug(stage_summary(stages))
    log.info("results in %s", output)
    return metrics
